import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jiyue.settings")
application = get_wsgi_application()


def _public_application():
    from jiyue.web.static_server import StaticServer

    return StaticServer(application)


# What `jiyue serve` runs: every site's published files (by Host header and under
# /sites/<code>/), and the Django application for the rest (docs/publishing.md).
public_application = _public_application()
