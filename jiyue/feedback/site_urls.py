"""The feedback app's dynamic pages under `/_/` on every site host (mounted in jiyue/urls.py)."""

from django.urls import path

from . import views

app_name = "feedback"
urlpatterns: list = [
    path("feedback/rate", views.rate_page, name="rate"),
    path("feedback/rate/reasons", views.reasons_page, name="reasons"),
    path("feedback/error", views.error_page, name="error"),
    path("feedback/error/q", views.query_page, name="lookup"),
    path("feedback/error/q/<str:code>", views.query_page, name="query"),
]
