from django.urls import path

from . import views

app_name = "web"
urlpatterns = [
    path("search", views.search, name="search"),
    path("search/suggest", views.search_suggest, name="search_suggest"),
]
