from django.conf import settings
from django.urls import include, path
from wagtail import urls as wagtail_urls
from wagtail.admin import urls as wagtailadmin_urls
from wagtail.documents import urls as wagtaildocs_urls

from jiyue.api.api import api
from jiyue.web.views import platform_home

urlpatterns = [
    path("admin/", include(wagtailadmin_urls)),
    path("api/v1/", api.urls),
    path("_/", include("jiyue.web.urls")),
    path("", platform_home),
    path("documents/", include(wagtaildocs_urls)),
    path("", include(wagtail_urls)),
]

if settings.DEBUG or settings.JIYUE_DEMO:
    from django.conf.urls.static import static

    urlpatterns = static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT) + urlpatterns
