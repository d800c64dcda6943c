"""`/_/account/...` on every site host: single sign-on, the login island's status, logout."""

from django.urls import path

from . import site_views

app_name = "site_account"
urlpatterns = [
    path("login", site_views.login, name="login"),
    path("sso/callback", site_views.callback, name="callback"),
    path("status", site_views.status, name="status"),
    path("logout", site_views.logout, name="logout"),
]
