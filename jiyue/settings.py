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
from datetime import timedelta
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
# --- Audit log (jiyue.audit; docs/security.md "Audit log") -----------------------------------
# Days entries stay in the database before the daily job archives them (at least 180; a smaller
# value is refused by a system check). Sealing waits this many seconds for slower transactions
# (default 0 on SQLite, 2 on PostgreSQL). Archives and the head file: $JIYUE_HOME/audit-archive.
JIYUE_AUDIT_RETENTION_DAYS = env("JIYUE_AUDIT_RETENTION_DAYS", "180")
JIYUE_AUDIT_SEAL_LAG_SECONDS = env("JIYUE_AUDIT_SEAL_LAG_SECONDS")
JIYUE_AUDIT_ARCHIVE_DIR = env("JIYUE_AUDIT_ARCHIVE_DIR")
# --- end of audit log ---------------------------------------------------------------------------
# --- Backups (jiyue.backup: `jiyue backup` / `jiyue restore`; docs/security.md) --------------
# Scheduled encrypted backups run every JIYUE_BACKUP_INTERVAL (seconds, or 12h / 1d; default
# daily) into JIYUE_BACKUP_DIR, keeping the JIYUE_BACKUP_KEEP newest, when the folder and the
# operator's key are set: JIYUE_BACKUP_KEY (read from the environment when used, never kept in
# settings) or a file holding it, JIYUE_BACKUP_KEY_FILE.
JIYUE_BACKUP_DIR = env("JIYUE_BACKUP_DIR")
JIYUE_BACKUP_KEY_FILE = env("JIYUE_BACKUP_KEY_FILE")
JIYUE_BACKUP_INTERVAL = env("JIYUE_BACKUP_INTERVAL", "1d")
JIYUE_BACKUP_KEEP = env("JIYUE_BACKUP_KEEP", "7")
# --- end of backups -------------------------------------------------------------------------------
# --- Search and Q&A (jiyue.search, jiyue.qa; docs/search.md) ---------------------------------
# Every application node keeps its own index replica in JIYUE_SEARCH_DIR (default
# $JIYUE_HOME/search/<node>), brought up to date from the outbox with its own cursor by the
# node's worker every JIYUE_SEARCH_SYNC_SECONDS. JIYUE_NODE names the node (default: host name).
import socket as _socket  # noqa: E402

JIYUE_NODE = env("JIYUE_NODE", _socket.gethostname() or "node")
JIYUE_SEARCH_DIR = Path(env("JIYUE_SEARCH_DIR", str(JIYUE_HOME / "search" / JIYUE_NODE)))
JIYUE_SEARCH_SYNC_SECONDS = float(env("JIYUE_SEARCH_SYNC_SECONDS", "1"))
# --- end of search and Q&A ----------------------------------------------------------------------

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
    "jiyue.backup",
    "jiyue.audit",
    "jiyue.accounts",
    "jiyue.platform",
    "jiyue.library",
    "jiyue.review",
    "jiyue.api",
    "jiyue.publishing",
    "jiyue.web",
    "jiyue.identity",
    "jiyue.search",
    "jiyue.qa",
    "jiyue.workdays",
    "jiyue.screening",
    "jiyue.letters",
    "jiyue.hotline",
    "jiyue.disclosure",
    "jiyue.feedback",
    "jiyue.participation",
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

# The outbox (jiyue.core.outbox): events are read this many seconds after they are written
# (default: 5 on PostgreSQL, 0 on SQLite; docs/outbox.md).
if env("JIYUE_OUTBOX_LAG_SECONDS") is not None:
    JIYUE_OUTBOX_LAG_SECONDS = float(env("JIYUE_OUTBOX_LAG_SECONDS"))
# The 12345 exchange (jiyue.hotline; docs/hotline.md): peer URLs over plain HTTP beyond this
# machine, sending right after each commit (else every 30 s), the first retry's delay.
JIYUE_HOTLINE_ALLOW_HTTP = env_bool("JIYUE_HOTLINE_ALLOW_HTTP", False)
JIYUE_HOTLINE_AUTOSEND = env_bool("JIYUE_HOTLINE_AUTOSEND", True)
JIYUE_HOTLINE_RETRY_SECONDS = float(env("JIYUE_HOTLINE_RETRY_SECONDS", "30"))

# Password policy (STANDARDS.md Security; staff security, jiyue.accounts.security): length,
# character classes, history (the last N passwords cannot be reused), expiry for staff.
JIYUE_PASSWORD_MIN_LENGTH = int(env("JIYUE_PASSWORD_MIN_LENGTH", "8"))
JIYUE_PASSWORD_MIN_CLASSES = int(env("JIYUE_PASSWORD_MIN_CLASSES", "3"))
JIYUE_PASSWORD_HISTORY = int(env("JIYUE_PASSWORD_HISTORY", "5"))
JIYUE_PASSWORD_MAX_AGE_DAYS = int(env("JIYUE_PASSWORD_MAX_AGE_DAYS", "90"))
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": JIYUE_PASSWORD_MIN_LENGTH}},
    {"NAME": "jiyue.accounts.validators.CharacterClassValidator",
     "OPTIONS": {"min_classes": JIYUE_PASSWORD_MIN_CLASSES}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "jiyue.accounts.validators.PasswordHistoryValidator",
     "OPTIONS": {"history": JIYUE_PASSWORD_HISTORY}},
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

# --- Staff security (jiyue.accounts.security): lockout, second factor, sessions -----------
# Lockout by django-axes: JIYUE_LOCKOUT_FAILURES failed logins lock the account (counted per
# account, never per address) for JIYUE_LOCKOUT_MINUTES; the 安全管理员 can lift it earlier.
JIYUE_LOCKOUT_FAILURES = int(env("JIYUE_LOCKOUT_FAILURES", "5"))
JIYUE_LOCKOUT_MINUTES = int(env("JIYUE_LOCKOUT_MINUTES", "30"))
# Staff with publish or administrative rights must pass a TOTP second factor in the admin.
# Tests switch it off (tests/conftest.py) except those marked `second_factor`.
JIYUE_STAFF_2FA = env_bool("JIYUE_STAFF_2FA", True)
# Idle timeout is SESSION_COOKIE_AGE above; staff sessions also end this long after login.
JIYUE_SESSION_IDLE_SECONDS = SESSION_COOKIE_AGE
JIYUE_STAFF_SESSION_MAX_SECONDS = int(env("JIYUE_STAFF_SESSION_MAX_SECONDS", str(12 * 3600)))
INSTALLED_APPS[INSTALLED_APPS.index("wagtail.users")] = "jiyue.accounts.apps.StaffUsersConfig"
INSTALLED_APPS += ["axes", "django_otp", "django_otp.plugins.otp_totp"]
MIDDLEWARE.insert(MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
                  "django_otp.middleware.OTPMiddleware")
MIDDLEWARE.insert(MIDDLEWARE.index("django.contrib.messages.middleware.MessageMiddleware") + 1,
                  "jiyue.accounts.middleware.StaffSecurityMiddleware")
MIDDLEWARE.append("axes.middleware.AxesMiddleware")
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses locked accounts
    "jiyue.accounts.backends.AccountBackend",  # username, citizen e-mail or mobile number
]
AXES_ENABLED = env_bool("JIYUE_AXES_ENABLED", True)
AXES_FAILURE_LIMIT = JIYUE_LOCKOUT_FAILURES
AXES_COOLOFF_TIME = timedelta(minutes=JIYUE_LOCKOUT_MINUTES)
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_USERNAME_CALLABLE = "jiyue.accounts.security.axes_username"
AXES_LOCKOUT_CALLABLE = "jiyue.accounts.security.lockout_response"
AXES_RESET_ON_SUCCESS = True
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_CLIENT_IP_CALLABLE = "jiyue.accounts.security.axes_client_ip"
AXES_ENABLE_ADMIN = False
AXES_DISABLE_ACCESS_LOG = True  # logins are in the audit log already
AXES_VERBOSE = False
OTP_TOTP_ISSUER = env("JIYUE_OTP_ISSUER") or "jiyue"
# Wrong codes count towards the account lockout above, which is the throttle.
OTP_TOTP_THROTTLE_FACTOR = 0
# Lockout counts per account on purpose (a citizen NAT must not lock everyone); per-address
# limits are jiyue.security.ratelimit's "login" scope.
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
# --- end of staff security ---------------------------------------------------------------

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

# --- Citizens and single sign-on (jiyue.identity; docs/identity.md) ---------------------------
# The identity host: the central login page (/account/login/, also the admin's and the OIDC
# provider's), registration, profile, and the start of single sign-on for every site host.
JIYUE_IDP_URL = (env("JIYUE_IDP_URL") or WAGTAILADMIN_BASE_URL).rstrip("/")
LOGIN_URL = "/account/login/"
WAGTAILADMIN_LOGIN_URL = "/account/login/"
# One-time codes: who sends them (classes with send(recipient, code, purpose)), how long they live.
JIYUE_CODE_SENDERS = {
    "email": env("JIYUE_EMAIL_SENDER", "jiyue.identity.senders.EmailSender"),
    "sms": env("JIYUE_SMS_SENDER", "jiyue.identity.senders.LogSmsSender"),
}
JIYUE_CODE_TTL_SECONDS = int(env("JIYUE_CODE_TTL_SECONDS", "600"))
# E-mail through SMTP (Django's backend); EMAIL_BACKEND may be overridden (tests use locmem).
# A demo platform has no mail server: its e-mails (verification codes) go to the console.
EMAIL_BACKEND = env("JIYUE_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend"
                    if JIYUE_DEMO else "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env("EMAIL_HOST", "localhost")
EMAIL_PORT = int(env("EMAIL_PORT", "25"))
EMAIL_HOST_USER = env("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = int(env("EMAIL_TIMEOUT", "10"))
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "noreply@localhost")
# --- end of citizens and single sign-on ----------------------------------------------------

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("JIYUE_LOG_LEVEL", "WARNING")},
}

# --- Platform security (docs/security.md "Platform security"): headers, HTTPS, rate limits,
# uploads ------------------------------------------------------------------------------------
# Content-Security-Policy, frame protection, Referrer-Policy, nosniff on every response
# (jiyue.security.headers; the file server and deploy/nginx/jiyue.conf send the same).
MIDDLEWARE.insert(MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1,
                  "jiyue.security.headers.SecurityHeadersMiddleware")
# JIYUE_HTTPS=1: the public reaches the platform only over HTTPS (TLS ends at nginx or a
# gateway in front, which sets X-Forwarded-Proto: https). Then every response carries HSTS
# (JIYUE_HSTS_SECONDS, default a year) and cookies are sent over HTTPS only. Without it, HSTS
# is still sent on requests Django sees as secure.
JIYUE_HTTPS = env_bool("JIYUE_HTTPS", False)
SECURE_HSTS_SECONDS = int(env("JIYUE_HSTS_SECONDS", str(365 * 86400)))
if JIYUE_HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
# Rate limits (jiyue.security.ratelimit): "scope=N/s|m|h,..." overrides the defaults there,
# e.g. JIYUE_RATE_LIMITS="login=10/m,api=600/m,search=60/m"; addresses in
# JIYUE_RATE_LIMIT_EXEMPT (comma-separated: a load-testing client, a trusted gateway) are
# never limited.
JIYUE_RATE_LIMITS = env("JIYUE_RATE_LIMITS", "") or ""
JIYUE_RATE_LIMIT_EXEMPT = [a.strip() for a in (env("JIYUE_RATE_LIMIT_EXEMPT", "") or "").split(",")
                           if a.strip()]
# The API counts every request per address (scope "api"); the search page counts in its view.
MIDDLEWARE.insert(MIDDLEWARE.index("jiyue.security.headers.SecurityHeadersMiddleware") + 1,
                  "jiyue.api.middleware.ApiGuardMiddleware")
# NUL in a path, query or JSON body: 400 before any view (PostgreSQL cannot store it).
MIDDLEWARE.insert(MIDDLEWARE.index("jiyue.api.middleware.ApiGuardMiddleware") + 1,
                  "jiyue.security.inputs.InputGuardMiddleware")
MIDDLEWARE[MIDDLEWARE.index("wagtail.contrib.redirects.middleware.RedirectMiddleware")] = \
    "jiyue.api.middleware.RedirectMiddleware"  # Wagtail's, except on the API
# The API's Swagger page from the application's own static files (not a CDN).
INSTALLED_APPS += ["ninja"]
# No Gravatar: the admin shows no pictures from other origins.
WAGTAIL_GRAVATAR_PROVIDER_URL = None
# Wagtail image uploads pass jiyue's size and content checks (jiyue.library.uploads).
WAGTAILIMAGES_IMAGE_FORM_BASE = "jiyue.library.forms.ImageForm"
# --- end of platform security ---------------------------------------------------------------

# --- OpenID Connect provider (jiyue.oidc, django-oauth-toolkit; docs/identity.md) -------------
# The issuer is the identity host (JIYUE_IDP_URL): discovery at
# $JIYUE_IDP_URL/.well-known/openid-configuration, endpoints under /o/. id_tokens are signed
# RS256 with a key generated on first use in $JIYUE_HOME/keys/ (jiyue.oidc.keys).
from jiyue.oidc import keys as _oidc_keys  # noqa: E402

INSTALLED_APPS += ["jiyue.oidc", "oauth2_provider"]
# DOT's own models (named so that jiyue.oidc's migrations can refer to the swappable model).
OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"
_OIDC_KEY, _OIDC_RETIRED_KEYS = _oidc_keys.load(JIYUE_HOME / "keys")
OAUTH2_PROVIDER = {
    "OIDC_ENABLED": True,
    "OIDC_ISS_ENDPOINT": JIYUE_IDP_URL,
    "OIDC_RSA_PRIVATE_KEY": _OIDC_KEY,
    "OIDC_RSA_PRIVATE_KEYS_INACTIVE": _OIDC_RETIRED_KEYS,
    "OAUTH2_VALIDATOR_CLASS": "jiyue.oidc.validators.Validator",
    "SCOPES": {
        "openid": _("确认您的身份（统一身份标识）"),
        "profile": _("姓名、用户名、实名等级、账号类型（工作人员含所属机构）"),
        "email": _("电子邮箱及是否已验证"),
        "phone": _("手机号码及是否已验证"),
    },
    "DEFAULT_SCOPES": ["openid"],
    # Authorization code with PKCE (S256 only) is the one flow; no implicit, no password grant.
    "PKCE_REQUIRED": True,
    "OIDC_RESPONSE_TYPES_SUPPORTED": ["code"],
    "OIDC_TOKEN_ENDPOINT_AUTH_METHODS_SUPPORTED": ["client_secret_basic", "client_secret_post", "none"],
    # http only for this machine's own addresses: jiyue.oidc.services.clean_uris checks every
    # registered redirect URI.
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https", "http"],
    "AUTHORIZATION_CODE_EXPIRE_SECONDS": int(env("JIYUE_OIDC_CODE_SECONDS", "60")),
    "ACCESS_TOKEN_EXPIRE_SECONDS": int(env("JIYUE_OIDC_ACCESS_TOKEN_SECONDS", "3600")),
    "ID_TOKEN_EXPIRE_SECONDS": int(env("JIYUE_OIDC_ACCESS_TOKEN_SECONDS", "3600")),
    "REFRESH_TOKEN_EXPIRE_SECONDS": int(env("JIYUE_OIDC_REFRESH_TOKEN_SECONDS", str(7 * 86400))),
    "ROTATE_REFRESH_TOKEN": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "REFRESH_TOKEN_GRACE_PERIOD_SECONDS": 0,
    # Consent is asked once per system while a token from it is alive (linked systems the
    # platform trusts skip it: 对接系统 › 免授权确认).
    "REQUEST_APPROVAL_PROMPT": "auto",
    "OIDC_RP_INITIATED_LOGOUT_ENABLED": True,
    "OIDC_RP_INITIATED_LOGOUT_ALWAYS_PROMPT": False,
    "OIDC_RP_INITIATED_LOGOUT_STRICT_REDIRECT_URIS": True,
    "OIDC_RP_INITIATED_LOGOUT_DELETE_TOKENS": True,
    # RFC 9700 (OAuth 2.0 security best current practice), all on.
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,   # tokens stored as SHA-256 digests only
    "COMPLIANT_BCP_RFC9700_REFRESH_TOKEN": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_MATCHING": True,
    "COMPLIANT_BCP_RFC9700_PKCE_REQUIRED": True,
}
# Optional upstream provincial identity provider (jiyue.oidc.upstream): "使用省统一身份认证登录"
# on the login page; its people are mapped onto local citizen accounts. Off while unset.
JIYUE_UPSTREAM_OIDC_ISSUER = (env("JIYUE_UPSTREAM_OIDC_ISSUER", "") or "").rstrip("/")
JIYUE_UPSTREAM_OIDC_CLIENT_ID = env("JIYUE_UPSTREAM_OIDC_CLIENT_ID", "") or ""
JIYUE_UPSTREAM_OIDC_CLIENT_SECRET = env("JIYUE_UPSTREAM_OIDC_CLIENT_SECRET", "") or ""
# --- end of OpenID Connect provider -------------------------------------------------------------
