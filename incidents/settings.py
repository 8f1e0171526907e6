"""Inquest settings: one file, read from the environment.

Every setting that differs between a laptop and production comes from an
environment variable (or a ``<NAME>_FILE`` holding it, for secrets). Bad
values stop the process at start with a message naming the variable.
"""

from __future__ import annotations

import datetime as dt
import os
import select
import zoneinfo
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str, default: str | None = None) -> str | None:
    """Read NAME, or the contents of the file named by NAME_FILE."""
    if path := os.environ.get(f"{name}_FILE"):
        try:
            return Path(path).read_text().strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE: cannot read {path!r}: {exc}") from exc
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    value = env(name)
    if value is None or value == "":
        return default
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false, 1/0), not {value!r}")


def env_int(name: str, default: int) -> int:
    value = env(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, not {value!r}") from None


def env_list(name: str, default: str = "") -> list[str]:
    value = env(name, default) or ""
    return [item.strip() for item in value.split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)

SECRET_KEY = env("SECRET_KEY") or ""
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is required when DEBUG is off (set SECRET_KEY or SECRET_KEY_FILE)."
        )
    SECRET_KEY = "inquest-insecure-development-key-do-not-use-in-production"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",  # full-text search on PostgreSQL (harmless on SQLite)
    "django_htmx",
    "axes",
    "django_otp",  # the second factor (incidents/accounts/twofactor.py)
    "django_otp.plugins.otp_totp",
    "incidents.accounts",
    "incidents.cases",
    "incidents.hypotheses",
    "incidents.evidence",
    "incidents.chronology",
    "incidents.audit",
    "incidents.reports",  # case reports (docs/reports.md)
    "django_tasks_db",  # the background tasks' queue, in the app's own database
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Nothing a view answers is cached (case data on a shared computer, Back after a post).
    "incidents.middleware.NoStoreMiddleware",
    # CSP near the top so that every page gets the header, error pages included.
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    # Who, from where, in which request: read by the audit triggers at each write.
    "incidents.audit.middleware.AuditContextMiddleware",
    # A lost database answers a friendly 503, not a 500.
    "incidents.errors.DatabaseUnavailableMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # request.user.is_verified(); then the second-factor gate and session list (docs/security.md).
    "django_otp.middleware.OTPMiddleware",
    "incidents.accounts.middleware.AccountMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # The same 404 page in every mode (no hint that a hidden case exists).
    "incidents.middleware.NotFoundMiddleware",
    # A stale edit that a view let through answers 409 with what changed.
    "incidents.audit.middleware.ConflictMiddleware",
    # Login throttling; django-axes wants to be last.
    "axes.middleware.AxesMiddleware",
]

# Benchmark mode (docs/performance.md, "Benchmark mode"); never on in production.
# INQUEST_BENCH installs the benchmark tooling, incidents.perf: the data generator,
# `manage.py bench` and the perf.Dataset table (its migration comes with the app, so
# a production database never gets that table). INQUEST_BENCH_FLOOR, on with it
# unless set false, adds the floor views under /_bench/ (incidents/urls.py) and the
# X-Query-Count middleware. `make bench` sets INQUEST_BENCH; so does the test run
# (tests/environment.py), with the floor off but where a test turns it on.
INQUEST_BENCH = env_bool("INQUEST_BENCH", False)
INQUEST_BENCH_FLOOR = env_bool("INQUEST_BENCH_FLOOR", INQUEST_BENCH)
if INQUEST_BENCH_FLOOR and not INQUEST_BENCH:
    raise ImproperlyConfigured(
        "INQUEST_BENCH_FLOOR needs INQUEST_BENCH=true (benchmark mode, never in production)."
    )
if INQUEST_BENCH:
    INSTALLED_APPS.append("incidents.perf")
if INQUEST_BENCH_FLOOR:
    MIDDLEWARE.insert(0, "incidents.perf.middleware.QueryCountMiddleware")
# Tests: check each compiled read's statement against the ORM's (incidents/compiled.py).
INQUEST_CHECK_COMPILED = env_bool("INQUEST_CHECK_COMPILED", False)

ROOT_URLCONF = "incidents.urls"
WSGI_APPLICATION = "incidents.wsgi.application"

TEMPLATES = [
    {
        # Every page and fragment the project draws: Jinja2 (incidents/jinja.py), from
        # templates/ only. It is asked first, and finds no admin template.
        "BACKEND": "incidents.jinja.Jinja2",
        "NAME": "jinja2",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": False,
        "OPTIONS": {
            "environment": "incidents.jinja.environment",
            "context_processors": [
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.csp",
                "incidents.accounts.context_processors.account_flags",
            ],
        },
    },
    {
        # The admin only, with the apps' overrides (incidents/*/templates/admin/).
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "NAME": "django",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.csp",
            ],
        },
    },
]

# Background tasks (django.tasks): the case reports are made by `manage.py db_worker`
# (django-tasks-db), queued in the app's own database; no broker (docs/reports.md).
# TASKS_BACKEND=immediate makes them at once, in the request (a one-process demo).
_TASK_BACKENDS = {
    "database": "django_tasks_db.DatabaseBackend",
    "immediate": "django.tasks.backends.immediate.ImmediateBackend",
}
_task_backend = (env("TASKS_BACKEND", "database") or "database").strip().lower()
if _task_backend not in _TASK_BACKENDS:
    raise ImproperlyConfigured(f"TASKS_BACKEND: database or immediate, not {_task_backend!r}")
TASKS = {"default": {"BACKEND": _TASK_BACKENDS[_task_backend]}}

# Forms: Django's form templates drawn by Jinja2 (incidents/renderers.py).
FORM_RENDERER = "incidents.renderers.FormRenderer"

# Database: DATABASE_URL, or an SQLite file under var/ (git-ignored).
VAR_DIR = Path(env("INQUEST_VAR_DIR") or BASE_DIR / "var")
DATABASE_URL = env("DATABASE_URL") or ""
if not DATABASE_URL:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASE_URL = f"sqlite:///{VAR_DIR / 'inquest.sqlite3'}"
try:
    _db = dj_database_url.parse(DATABASE_URL)
except ValueError as exc:
    raise ImproperlyConfigured(f"DATABASE_URL is not a valid database URL: {exc}") from exc

# Signed audit receipts (incidents/audit/receipts.py; docs/operations.md, "Audit receipts"):
# the Ed25519 key, PEM or base64 of its 32 bytes, from INQUEST_AUDIT_SIGNING_KEY or the file
# named by INQUEST_AUDIT_SIGNING_KEY_FILE; the earlier keys' public keys still trusted when
# verifying, from INQUEST_AUDIT_TRUSTED_KEYS(_FILE). With DEBUG on and no key, a throwaway key
# is made in the var folder; with DEBUG off and no key, receipts are refused.
AUDIT_SIGNING_KEY = env("INQUEST_AUDIT_SIGNING_KEY") or ""
AUDIT_TRUSTED_KEYS = env("INQUEST_AUDIT_TRUSTED_KEYS") or ""
AUDIT_THROWAWAY_KEY_FILE = (
    VAR_DIR / "audit-signing-key.pem" if DEBUG and not AUDIT_SIGNING_KEY else None
)


def check_pooled_connection(conn: Any) -> None:
    """The pool's check before it hands out a connection, without a round trip when idle.

    Every request takes a connection from the pool. psycopg_pool's own check
    sends an empty query each time: a round trip as long as the request's
    session query. Here the socket is polled instead: an idle connection whose
    server is alive has nothing to read. When the server went away (restart,
    ``pg_terminate_backend``, failover) it has sent its goodbye or closed the
    socket, the socket is readable, and only then the real check runs, which
    fails and makes the pool replace the connection.
    """
    from psycopg_pool import ConnectionPool

    try:
        readable, _, _ = select.select([conn.fileno()], [], [], 0)
    except (OSError, ValueError):
        readable = [True]
    if readable or conn.closed:
        ConnectionPool.check_connection(conn)


if _db["ENGINE"] == "django.db.backends.postgresql":
    # psycopg 3 connection pool; CONN_MAX_AGE must stay 0 with a pool.
    _db["CONN_MAX_AGE"] = 0
    _db.setdefault("OPTIONS", {})["pool"] = {
        "min_size": env_int("DATABASE_POOL_MIN", 1),
        "max_size": env_int("DATABASE_POOL_MAX", 8),
        "timeout": env_int("DATABASE_POOL_TIMEOUT", 10),
        "check": check_pooled_connection,
    }
    _db["CONN_HEALTH_CHECKS"] = True
elif _db["ENGINE"] == "django.db.backends.sqlite3":
    _db.setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    # Throttles failed log-ins (django-axes) before the password is even checked.
    "incidents.accounts.backends.ThrottledBackend",
    # Django's ModelBackend, reading the signed-in user through a compiled read.
    "incidents.accounts.backends.UserBackend",
]

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en"
TIME_ZONE = env("TIME_ZONE", "UTC") or "UTC"
try:
    zoneinfo.ZoneInfo(TIME_ZONE)
except (zoneinfo.ZoneInfoNotFoundError, ValueError):
    raise ImproperlyConfigured(f"TIME_ZONE is not a known IANA time zone: {TIME_ZONE!r}") from None
# Inquest is in English only: without the translation machinery every label,
# plural and "5 minutes ago" skips a per-call catalogue lookup (docs/performance.md).
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env("STATIC_ROOT") or VAR_DIR / "staticfiles")
# WhiteNoise: with DEBUG on (development and tests) static files come straight
# from the finders and new files are picked up without collectstatic; with
# DEBUG off, STATIC_ROOT must hold collectstatic's output.
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG
MEDIA_ROOT = Path(env("MEDIA_ROOT") or VAR_DIR / "media")
# Evidence files are never served directly, only through access-checked views: no URL
# pattern serves this prefix. (None would break Django's live test server.)
MEDIA_URL = "/media-not-served/"

# Media (evidence files) must be shared by every app process: a local folder
# for one machine, or S3-compatible object storage through django-storages
# (MEDIA_STORAGE=s3; install it with `uv add "django-storages[s3]"`; see
# docs/deployment.md). Files are never served directly from the bucket.
MEDIA_STORAGE = (env("MEDIA_STORAGE", "filesystem") or "filesystem").strip().lower()
if MEDIA_STORAGE == "filesystem":
    _media_storage: dict = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
elif MEDIA_STORAGE == "s3":
    if not env("S3_BUCKET"):
        raise ImproperlyConfigured(
            "MEDIA_STORAGE=s3 needs S3_BUCKET (and usually S3_ENDPOINT_URL)."
        )
    _media_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env("S3_BUCKET"),
            "endpoint_url": env("S3_ENDPOINT_URL") or None,
            "region_name": env("S3_REGION") or None,
            "access_key": env("S3_ACCESS_KEY_ID") or None,
            "secret_key": env("S3_SECRET_ACCESS_KEY") or None,
            "location": env("S3_PREFIX", "") or "",
            "default_acl": "private",
            "querystring_auth": True,
            "file_overwrite": False,
            # An object being read (the hash check before a download, a backup) is
            # spooled to a temporary file past 2 MiB; the default 0 held it all in memory.
            "max_memory_size": 2 * 1024 * 1024,
        },
    }
else:
    raise ImproperlyConfigured(f"MEDIA_STORAGE must be filesystem or s3, not {MEDIA_STORAGE!r}")

STORAGES = {
    "default": _media_storage,
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Uploads: never keep a large file in memory; the evidence app streams it.
EVIDENCE_MAX_UPLOAD_BYTES = env_int("EVIDENCE_MAX_UPLOAD_MB", 200) * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# Security. Content-Security-Policy with per-response nonces; no inline
# styles or scripts without a nonce, no eval.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.NONCE],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Database sessions, read with one plain statement (incidents/accounts/sessions.py).
SESSION_ENGINE = "incidents.accounts.sessions"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True  # the token reaches HTMX through hx-headers, not the cookie
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_FAILURE_VIEW = "incidents.errors.csrf_failure"  # templates/errors/403_csrf.jinja
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 8 * 3600)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # load-balancer probes may speak plain http
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", SECURE_HSTS_SECONDS > 0)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", SECURE_HSTS_SECONDS > 0)
# Behind our own reverse proxy: trust its X-Forwarded-Proto, X-Forwarded-For
# (last hop: the client's address, for the audit trail and login throttling)
# and X-Request-ID. Never set this when clients can reach the app directly.
TRUST_PROXY_HEADERS = env_bool("BEHIND_TLS_PROXY", False)
if TRUST_PROXY_HEADERS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Login throttling (django-axes): after AXES_FAILURE_LIMIT failures for one
# username from one address, that pair is locked out for the cool-off time.
# An unknown username and a wrong password count and answer alike.
AXES_ENABLED = env_bool("LOGIN_THROTTLING", True)
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = dt.timedelta(minutes=env_int("LOGIN_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.jinja"
AXES_CLIENT_IP_CALLABLE = "incidents.audit.context.client_ip_for_axes"
AXES_VERBOSE = False

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO") or "INFO"},
    # django-axes logs every log-in at INFO; failures and lock-outs are warnings.
    "loggers": {"axes": {"level": "WARNING"}, "weasyprint": {"level": "WARNING"}},
}

# Accounts (docs/security.md "Accounts", docs/operations.md). E-mail is
# "configured", and password reset is served, when EMAIL_ENABLED is true; it
# defaults to true when the environment sets EMAIL_HOST or EMAIL_BACKEND.
# Otherwise the reset pages answer 404, as in the demo. The EMAIL_* variables
# fill Django 6.1's MAILERS (Django's own EMAIL_* settings are deprecated).
_email_backend = env("EMAIL_BACKEND") or "django.core.mail.backends.smtp.EmailBackend"
_email_options: dict[str, Any] = {}
if _email_backend == "django.core.mail.backends.smtp.EmailBackend":
    _email_options = {
        "host": env("EMAIL_HOST") or "localhost",
        "port": env_int("EMAIL_PORT", 25),
        "username": env("EMAIL_HOST_USER") or "",
        "password": env("EMAIL_HOST_PASSWORD") or "",
        "use_tls": env_bool("EMAIL_USE_TLS", False),
        "use_ssl": env_bool("EMAIL_USE_SSL", False),
        "timeout": env_int("EMAIL_TIMEOUT", 10),
    }
    if _email_options["use_tls"] and _email_options["use_ssl"]:
        raise ImproperlyConfigured("EMAIL_USE_TLS and EMAIL_USE_SSL cannot both be on.")
MAILERS = {"default": {"BACKEND": _email_backend, "OPTIONS": _email_options}}
INQUEST_EMAIL_ENABLED = env_bool("EMAIL_ENABLED", bool(env("EMAIL_HOST") or env("EMAIL_BACKEND")))
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL") or ""
if not DEFAULT_FROM_EMAIL:
    if INQUEST_EMAIL_ENABLED and not DEBUG:
        raise ImproperlyConfigured("DEFAULT_FROM_EMAIL is required when e-mail is configured.")
    DEFAULT_FROM_EMAIL = "inquest@localhost"
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# A reset link works once, for this long; at most this many reset e-mails per address per hour.
PASSWORD_RESET_TIMEOUT = env_int("PASSWORD_RESET_TIMEOUT_MINUTES", 60) * 60
INQUEST_PASSWORD_RESETS_PER_HOUR = env_int("PASSWORD_RESETS_PER_HOUR", 3)
# The second factor (TOTP, django-otp) is each user's choice unless required:
# REQUIRE_2FA_FOR=staff,leads sends staff (the admin included) and case leads
# without it to enrolment until they enrol. Off by default (the demo).
INQUEST_REQUIRE_2FA_FOR = frozenset(env_list("REQUIRE_2FA_FOR"))
if INQUEST_REQUIRE_2FA_FOR - {"staff", "leads", "everyone"}:
    raise ImproperlyConfigured(
        "REQUIRE_2FA_FOR is a comma-separated list of staff, leads, everyone; "
        f"not {env('REQUIRE_2FA_FOR')!r}"
    )
OTP_TOTP_ISSUER = "Inquest"
OTP_TOTP_THROTTLE_FACTOR = 1  # after n failures in a row, wait 2^(n-1) seconds
# The admin lists and deletes TOTP devices (a lost phone) but never shows their secrets.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
