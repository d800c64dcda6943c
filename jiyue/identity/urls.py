"""The identity host's pages, under /account/."""

from django.urls import path

from . import views

app_name = "identity"
urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("register/", views.register_view, name="register"),
    path("password/reset/", views.reset_view, name="reset"),
    path("sso/", views.sso_start, name="sso"),
    path("profile/", views.profile_view, name="profile"),
    path("profile/password/", views.password_view, name="password"),
    path("profile/email/", views.change_contact_view, {"channel": "email"}, name="change_email"),
    path("profile/mobile/", views.change_contact_view, {"channel": "sms"}, name="change_mobile"),
    path("profile/export/", views.export_view, name="export"),
    path("profile/delete/", views.delete_view, name="delete"),
]
