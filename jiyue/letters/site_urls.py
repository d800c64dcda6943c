"""The letters app's dynamic pages under `/_/` on every site host (mounted in jiyue/urls.py)."""

from django.urls import path

from . import views

app_name = "letters"
urlpatterns = [
    path("letters", views.index, name="index"),
    path("letters/new", views.write, name="write"),
    path("letters/receipt", views.receipt, name="receipt"),
    path("letters/query", views.query, name="query"),
    path("letters/q/<str:code>", views.detail, name="detail"),
]
