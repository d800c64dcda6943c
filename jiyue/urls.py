from django.conf import settings
from django.urls import include, path
from wagtail import urls as wagtail_urls
from wagtail.admin import urls as wagtailadmin_urls
from wagtail.documents import urls as wagtaildocs_urls

from jiyue.api.api import api
from jiyue.oidc.urls import root_patterns as oidc_root_patterns
from jiyue.web.views import platform_home

urlpatterns = [
    path("admin/", include(wagtailadmin_urls)),
    path("api/v1/", api.urls),
    path("account/", include("jiyue.identity.urls")),
    path("_/account/", include("jiyue.identity.site_urls")),
    # OpenID Connect provider: /o/ (django-oauth-toolkit's namespace) and discovery + JWKS at
    # the issuer's root.
    path("o/", include("jiyue.oidc.urls")),
    path("", include(oidc_root_patterns)),
    path("_/", include("jiyue.web.urls")),
    path("_/", include("jiyue.qa.site_urls")),
    path("_/", include("jiyue.letters.site_urls")),
    path("_/", include("jiyue.disclosure.site_urls")),
    path("_/", include("jiyue.feedback.site_urls")),
    path("_/", include("jiyue.participation.site_urls")),
    path("hotline/", include("jiyue.hotline.site_urls")),
    path("", platform_home),
    path("documents/", include(wagtaildocs_urls)),
    path("", include(wagtail_urls)),
]

if settings.DEBUG or settings.JIYUE_DEMO:
    from django.conf.urls.static import static

    urlpatterns = static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT) + urlpatterns
