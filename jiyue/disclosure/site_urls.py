"""The disclosure app's dynamic pages under `/_/` on every site host (mounted in jiyue/urls.py)."""

from django.urls import path

from . import views

app_name = "disclosure"
urlpatterns: list = [
    path("disclosure", views.index, name="index"),
    path("disclosure/apply", views.apply, name="apply"),
    path("disclosure/q", views.query, name="query"),
    path("disclosure/q/<str:code>", views.progress, name="progress"),
]
