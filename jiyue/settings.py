"""jiyue settings.

Every setting comes from an environment variable with an embedded default, so that
`jiyue demo` runs with no configuration at all (SQLite, local files, in-process jobs) and
production moves to PostgreSQL, Redis workers and nginx by setting variables only.
The variables are documented in README.md.
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent


def env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return default if value in (None, "") else value


def env_bool(name: str, default: bool = False) -> bool:
    value = env(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


if "pytest" in sys.modules and not env("JIYUE_HOME"):
    import tempfile

    os.environ["JIYUE_HOME"] = tempfile.mkdtemp(prefix="jiyue-test-")
JIYUE_HOME = Path(env("JIYUE_HOME", "./var")).resolve()
JIYUE_HOME.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    key = env("JIYUE_SECRET_KEY")
    if key:
        return key
    path = JIYUE_HOME / "secret_key"
    if not path.exists():
        # Generated once and kept: sessions and signed tokens survive restarts.
        tmp = path.with_suffix(".tmp")
        tmp.write_text(secrets.token_urlsafe(50))
        tmp.chmod(0o600)
        os.replace(tmp, path)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env_bool("JIYUE_DEBUG", False)
JIYUE_DEMO = env_bool("JIYUE_DEMO", False)
# Behind nginx (deploy/nginx): take the client address for the audit log from X-Real-IP.
JIYUE_TRUST_X_REAL_IP = env_bool("JIYUE_TRUST_X_REAL_IP", False)

# Site domains end in .gov.cn or .政务 (validated on every site); /_/ pages answer only for
# hosts that belong to a site.
ALLOWED_HOSTS = [
    h.strip()
    for h in env("JIYUE_ALLOWED_HOSTS", "localhost,.localhost,127.0.0.1,[::1],testserver,.gov.cn,.xn--zfr164b").split(",")
    if h.strip()
]
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in (env("JIYUE_CSRF_TRUSTED_ORIGINS", "") or "").split(",") if o.strip()
]

INSTALLED_APPS = [
    # jiyue first: its templates and translations override Wagtail's.
    "jiyue.core",
    "jiyue.security",
    "jiyue.audit",
    "jiyue.accounts",
    "jiyue.platform",
    "jiyue.library",
    "jiyue.review",
    "jiyue.api",
    "jiyue.publishing",
    "jiyue.web",
    "jiyue.demo",
    "wagtail.contrib.forms",
    "wagtail.contrib.redirects",
    "wagtail.contrib.settings",
    "wagtail.embeds",
    "wagtail.sites",
    "wagtail.users",
    "wagtail.snippets",
    "wagtail.documents",
    "wagtail.images",
    "wagtail.search",
    "wagtail.admin",
    "wagtail",
    "modelcluster",
    "taggit",
    "django_tasks",
    "django_tasks_db",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "jiyue.audit.middleware.AuditContextMiddleware",
    "jiyue.accounts.wagtail_hooks.PlatformOnlyMiddleware",
    "wagtail.contrib.redirects.middleware.RedirectMiddleware",
]

ROOT_URLCONF = "jiyue.urls"
WSGI_APPLICATION = "jiyue.wsgi.application"
AUTH_USER_MODEL = "accounts.User"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL", f"sqlite:///{JIYUE_HOME / 'jiyue.sqlite3'}"),
        conn_max_age=int(env("JIYUE_DB_CONN_MAX_AGE", "0")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A busy timeout lets the job worker and the web server share the file; IMMEDIATE
    # transactions avoid the "database is locked" upgrade deadlock. WAL mode is persistent in
    # the file and is switched on once after migrate (core.apps), not on every connection.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Background jobs (see docs/decisions/0002-background-jobs.md).
REDIS_URL = env("REDIS_URL")
JIYUE_TASKS = env("JIYUE_TASKS", "rq" if REDIS_URL else "db")
_TASK_BACKENDS = {
    "db": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default", "periodic"]},
    "rq": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default", "periodic"]},
    "immediate": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend",
                  "QUEUES": ["default", "periodic"]},
}
TASKS = {"default": _TASK_BACKENDS[JIYUE_TASKS]}
if REDIS_URL:
    INSTALLED_APPS += ["django_rq", "django_tasks_rq"]
    RQ_QUEUES = {
        name: {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 3600} for name in ("default", "periodic")
    }
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env("JIYUE_CACHE_PREFIX", "jiyue"),
        }
    }

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": 8}},
    {"NAME": "jiyue.accounts.validators.CharacterClassValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

if "pytest" in sys.modules:
    # A resource kind defined outside the core, proving kinds can be added without changing it.
    # Listed right after jiyue.library: Wagtail builds its menus while its own apps get ready.
    INSTALLED_APPS.insert(INSTALLED_APPS.index("jiyue.library") + 1, "tests.extrakind")
    # Tests create many accounts; a fast hash keeps them quick. Never used outside tests.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("简体中文"))]
WAGTAIL_CONTENT_LANGUAGES = LANGUAGES
WAGTAILADMIN_PERMITTED_LANGUAGES = LANGUAGES
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env("JIYUE_TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(env("JIYUE_STATIC_ROOT", str(JIYUE_HOME / "static")))
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env("JIYUE_MEDIA_ROOT", str(JIYUE_HOME / "media")))
# The published tree: public/<网站标识码>/... per site, public/_hosts/<hostname> -> ../<code>.
JIYUE_PUBLIC_ROOT = Path(env("JIYUE_PUBLIC_ROOT", str(JIYUE_HOME / "public")))
# Sites with waiting work are published side by side in this many processes (forked by the
# job). Under pytest, 1: a forked process cannot see a test's uncommitted transaction.
JIYUE_PUBLISH_PROCESSES = int(env("JIYUE_PUBLISH_PROCESSES",
                                  "1" if "pytest" in sys.modules else str(min(4, os.cpu_count() or 1))))
# Paths on a site host that belong to the application, not to the published tree.
JIYUE_APP_PREFIXES = ("/_/", "/admin/", "/api/", "/static/", "/media/", "/documents/")
STORAGES = {
    # Uploaded files are stored by content hash: identical uploads are kept once.
    "default": {"BACKEND": "jiyue.library.storage.ContentHashStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Largest accepted upload (bytes); the library validates size and type of every file.
JIYUE_MAX_UPLOAD_BYTES = int(env("JIYUE_MAX_UPLOAD_BYTES", str(50 * 1024 * 1024)))
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

SESSION_COOKIE_AGE = int(env("JIYUE_SESSION_IDLE_SECONDS", str(30 * 60)))
SESSION_SAVE_EVERY_REQUEST = True  # idle timeout, not absolute
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "SAMEORIGIN"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

WAGTAIL_SITE_NAME = env("JIYUE_SITE_NAME") or _("政府网站集约化平台")
WAGTAILADMIN_BASE_URL = env("JIYUE_BASE_URL", "http://localhost:8000")
WAGTAIL_I18N_ENABLED = False
WAGTAILDOCS_EXTENSIONS = ["pdf", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "wps", "ofd",
                          "txt", "csv", "zip", "rar", "7z", "jpg", "jpeg", "png"]
WAGTAILDOCS_DOCUMENT_FORM_BASE = "jiyue.library.forms.DocumentForm"
WAGTAILIMAGES_MAX_UPLOAD_SIZE = 20 * 1024 * 1024
WAGTAILIMAGES_EXTENSIONS = ["gif", "jpg", "jpeg", "png", "webp"]
WAGTAILSEARCH_BACKENDS = {"default": {"BACKEND": "wagtail.search.backends.database"}}
WAGTAIL_USER_EDIT_FORM = "jiyue.accounts.forms.StaffUserEditForm"
WAGTAIL_USER_CREATION_FORM = "jiyue.accounts.forms.StaffUserCreationForm"
WAGTAIL_USER_CUSTOM_FIELDS = ["organisation", "real_name"]
WAGTAIL_PASSWORD_RESET_ENABLED = False
WAGTAILADMIN_COMMENTS_ENABLED = True
# Off: approving from the edit form saves a revision, which would void earlier levels'
# approvals. Content cannot change unseen during review anyway: ReviewTask locks the item for
# everyone but the reviewers of the current level.
WAGTAIL_WORKFLOW_REQUIRE_REAPPROVAL_ON_EDIT = False
WAGTAIL_FINISH_WORKFLOW_ACTION = "jiyue.review.finish.publish_on_approval"
WAGTAIL_ENABLE_UPDATE_CHECK = False
WAGTAIL_ENABLE_WHATS_NEW_BANNER = False

LOGIN_URL = "/admin/login/"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("JIYUE_LOG_LEVEL", "WARNING")},
}
