import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jiyue.settings")
application = get_wsgi_application()


def _public_application():
    from django.conf import settings

    from jiyue.web.static_server import StaticServer

    # /static/ and /media/ as files too, with the platform's security headers on them
    return StaticServer(application, mounts={settings.STATIC_URL: settings.STATIC_ROOT,
                                             settings.MEDIA_URL: settings.MEDIA_ROOT})


# What `jiyue serve` runs: every site's published files (by Host header and under
# /sites/<code>/), and the Django application for the rest (docs/publishing.md).
public_application = _public_application()
