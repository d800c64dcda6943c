"""`/_/qa` on every site host (mounted under `_/` in jiyue/urls.py)."""

from django.urls import path

from . import views

app_name = "qa"
urlpatterns = [
    path("qa", views.ask_page, name="ask"),
    path("qa/faq/<int:pk>", views.faq_page, name="faq"),
]
