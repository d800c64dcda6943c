"""jiyue's settings plus the benchmark page model, with Wagtail's production advice applied:
DEBUG off (templates cached), persistent database connections."""

from jiyue.settings import *  # noqa: F401,F403
from jiyue.settings import DATABASES, INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "bench.wagtailbench"]
DEBUG = False
DATABASES["default"]["CONN_MAX_AGE"] = 600
