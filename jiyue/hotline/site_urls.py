"""The hotline app's dynamic pages under `/_/` on every site host (mounted in jiyue/urls.py)."""

from django.urls import path  # noqa: F401

app_name = "hotline"
urlpatterns: list = []
