"""The participation app's dynamic pages under `/_/` on every site host (mounted in jiyue/urls.py)."""

from django.urls import path

from . import views

app_name = "participation"
urlpatterns = [
    path("participation", views.index, name="index"),
    path("participation/style.css", views.style, name="style"),
    path("participation/consultations/<int:pk>", views.consultation, name="consultation"),
    path("participation/surveys/<int:pk>", views.survey, name="survey"),
    path("participation/surveys/<int:pk>/results", views.survey_results, name="survey_results"),
    path("participation/interviews/<int:pk>", views.interview, name="interview"),
    path("participation/interviews/<int:pk>/live.json", views.interview_live, name="interview_live"),
    path("participation/files/draft/<int:pk>", views.draft_file, name="draft_file"),
    path("participation/files/image/<int:pk>", views.transcript_image, name="transcript_image"),
]
