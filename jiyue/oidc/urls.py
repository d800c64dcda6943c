"""The provider's URLs, in django-oauth-toolkit's namespace (its views reverse these names).

Mounted at /o/ in jiyue/urls.py; `root_patterns` serve discovery and the JWKS at the issuer's
root as well (the issuer is JIYUE_IDP_URL, so discovery is /.well-known/openid-configuration),
and the upstream provider's login and callback under /o/upstream/.
"""

from django.urls import include, path, re_path

from . import views

app_name = "oauth2_provider"

urlpatterns = [
    path("authorize/", views.AuthorizationView.as_view(), name="authorize"),
    path("token/", views.TokenView.as_view(), name="token"),
    path("revoke_token/", views.RevokeTokenView.as_view(), name="revoke-token"),
    path("userinfo/", views.UserInfoView.as_view(), name="user-info"),
    path("logout/", views.LogoutView.as_view(), name="rp-initiated-logout"),
    re_path(r"^\.well-known/openid-configuration/?$", views.DiscoveryView.as_view(),
            name="oidc-connect-discovery-info"),
    path(".well-known/jwks.json", views.JwksView.as_view(), name="jwks-info"),
]

root_patterns = [
    re_path(r"^\.well-known/openid-configuration/?$", views.DiscoveryView.as_view(),
            name="oidc_discovery"),
    path(".well-known/jwks.json", views.JwksView.as_view(), name="oidc_jwks"),
    # The optional upstream provincial provider (jiyue.oidc.upstream).
    path("o/upstream/", include("jiyue.oidc.upstream")),
]
