"""Settings for Takedown, read from the environment with safe defaults.

Every variable is documented in `.env.example`. Two profiles exist:

* development (default): SQLite under `var/`, Celery tasks run in process, local-memory cache,
  console email. A SECRET_KEY and a field-encryption key are generated once into `var/` so a
  fresh clone starts with nothing to configure.
* production (`TAKEDOWN_ENV=production`): refuses to start unless the secrets, hosts, database
  and encryption keys are given explicitly, and turns on every transport-security setting so that
  `manage.py check --deploy --fail-level WARNING` passes.

Nothing assigns to settings at run time; tests use `override_settings`.
"""

from __future__ import annotations

import importlib.util
import os
import secrets
import shutil
from pathlib import Path
from typing import Any

import dj_database_url
from cryptography.fernet import Fernet
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _
from kombu import Exchange, Queue

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("TAKEDOWN_VAR_DIR", BASE_DIR / "var"))

TAKEDOWN_ENV = os.environ.get("TAKEDOWN_ENV", "development").strip().lower()
if TAKEDOWN_ENV not in {"development", "production"}:
    raise ImproperlyConfigured("TAKEDOWN_ENV must be 'development' or 'production'.")
PRODUCTION = TAKEDOWN_ENV == "production"


def _env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false), not {raw!r}.")


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, not {raw!r}.") from exc


def _env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [part.strip() for part in raw.split(",") if part.strip()]


def _required_in_production(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    if PRODUCTION and not value:
        raise ImproperlyConfigured(f"{name} must be set when TAKEDOWN_ENV=production.")
    return value or None


def _dev_secret_file(filename: str, make: Any) -> str:
    """Read a development secret from var/, creating it once.

    A generated secret keeps a fresh clone runnable without configuration while never shipping a
    shared default key that someone might deploy by accident.
    """
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    path = VAR_DIR / filename
    if not path.exists():
        path.write_text(make(), encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()


# --- core -----------------------------------------------------------------------------------------

SECRET_KEY = _required_in_production("SECRET_KEY") or _dev_secret_file("secret_key", lambda: secrets.token_urlsafe(50))
# Debug pages (tracebacks, settings, URL lists) only when the development profile is chosen
# explicitly (TAKEDOWN_ENV=development, which scripts/run exports) or DEBUG=true is set: a server
# started with no profile at all shows the production error pages.
DEBUG = _env_bool("DEBUG", default=os.environ.get("TAKEDOWN_ENV", "").strip().lower() == "development")
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("DEBUG must be off when TAKEDOWN_ENV=production.")

ALLOWED_HOSTS = _env_list("ALLOWED_HOSTS", [] if PRODUCTION else ["127.0.0.1", "localhost", "[::1]", "testserver"])
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must be set when TAKEDOWN_ENV=production.")
CSRF_TRUSTED_ORIGINS = _env_list("CSRF_TRUSTED_ORIGINS", [])
CSRF_FAILURE_VIEW = "takedown.core.views.csrf_failure"

INSTALLED_APPS = [
    "takedown.core.admin_site.TakedownAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "csp",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    # The project's apps, bottom floor first (docs/architecture.md).
    "takedown.core",
    "takedown.organizations",
    "takedown.registry",
    "takedown.cases",
    "takedown.matching",
    "takedown.notices",
    "takedown.platforms",
    "takedown.web",
    "takedown.demo",
    "drf_spectacular",
    "drf_spectacular_sidecar",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "takedown.core.middleware.SecurityHeadersMiddleware",
    "takedown.web.middleware.FetchRedirectMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "takedown.core.middleware.DomainErrorMiddleware",
]

ROOT_URLCONF = "takedown.urls"
WSGI_APPLICATION = "takedown.wsgi.application"
ASGI_APPLICATION = "takedown.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "takedown.core.context_processors.site",
            ],
        },
    },
]

# --- database -------------------------------------------------------------------------------------
# The embedded default is a SQLite file, so trying the service needs no server. PostgreSQL
# (psycopg 3) is what production and the test suite use.

DATABASE_URL = _required_in_production("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'takedown.sqlite3'}"
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL,
        conn_max_age=_env_int("DATABASE_CONN_MAX_AGE", 60 if PRODUCTION else 0),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- cache ----------------------------------------------------------------------------------------
# Redis backs the cache and rate limits when REDIS_URL is set. The local-memory fallback is per
# process, which is fine for the single-process embedded default and wrong for several workers.

REDIS_URL = os.environ.get("REDIS_URL", "").strip() or None
if PRODUCTION and not REDIS_URL:
    raise ImproperlyConfigured("REDIS_URL must be set when TAKEDOWN_ENV=production.")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "takedown"),
            # allauth's sign-in counters are named after the address; stored as keyed digests.
            "KEY_FUNCTION": "takedown.core.cache_keys.make_key",
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "KEY_FUNCTION": "takedown.core.cache_keys.make_key",
        }
    }

# --- Celery ---------------------------------------------------------------------------------------
# With no broker configured, tasks run in process (eagerly) so the embedded default needs no
# server. Tasks are idempotent, so late acknowledgement with reject-on-worker-lost is safe: a
# worker killed mid-task leaves the message to be delivered again.

CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "").strip() or None
CELERY_TASK_ALWAYS_EAGER = CELERY_BROKER_URL is None
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_ENABLE_UTC = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = _env_int("CELERY_TASK_SOFT_TIME_LIMIT", 120)
CELERY_TASK_TIME_LIMIT = _env_int("CELERY_TASK_TIME_LIMIT", 150)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A task's claim on its work (a check's started_at, a notice's delivery_claimed_at) older than this
# was left by a worker that died; the work may be taken again. It must exceed the hard time limit.
TASK_CLAIM_STALE_SECONDS = _env_int("TASK_CLAIM_STALE_SECONDS", CELERY_TASK_TIME_LIMIT + 30)
# Work recorded in PostgreSQL but not taken up this long after it was queued (its message lost in a
# broker restart, or never published while the broker was down) is published again by the
# `resume` beat tasks. Republishing is harmless (tasks claim their work), only wasteful.
TASK_RESUME_AFTER_SECONDS = _env_int("TASK_RESUME_AFTER_SECONDS", 3600)
# Redis redelivers an unacknowledged message only after the visibility timeout. It must exceed the
# longest task (hard limit above) and any countdown; tests shorten it to see redelivery quickly.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": _env_int("CELERY_VISIBILITY_TIMEOUT", 3600),
    # How often a worker sweeps for abandoned (unacknowledged, timed-out) messages: every
    # interval x throttle seconds. Kombu's defaults give 100 s.
    "unacked_restore_interval": _env_int("CELERY_UNACKED_RESTORE_INTERVAL", 10),
    "unacked_restore_throttle": _env_int("CELERY_UNACKED_RESTORE_THROTTLE", 10),
    # A worker killed during its own sweep leaves the sweep's lock behind until it expires;
    # no other worker restores anything meanwhile.
    "unacked_mutex_expire": _env_int("CELERY_UNACKED_MUTEX_EXPIRE", 300),
}
CELERY_TASK_DEFAULT_QUEUE = "default"
# Pages a script builds are rendered in a browser on a queue of their own, so a slow page never
# holds up the checks on the fetch queue (a worker started with `-Q render`).
RENDER_QUEUE = os.environ.get("RENDER_QUEUE", "").strip() or "render"
# Each queue has its own direct exchange and routing key; a bare Queue(name) would bind every
# queue to the same key, duplicating some messages and dropping those routed by name.
CELERY_TASK_QUEUES = tuple(
    Queue(name, Exchange(name, type="direct"), routing_key=name)
    for name in ("fetch", RENDER_QUEUE, "match", "deliver", "default")
)
CELERY_TASK_DEFAULT_EXCHANGE = "default"
CELERY_TASK_DEFAULT_ROUTING_KEY = "default"
CELERY_TASK_ROUTES = {
    "takedown.matching.tasks.fetch_check": {"queue": "fetch"},
    "takedown.matching.tasks.render_check": {"queue": RENDER_QUEUE},
    "takedown.matching.tasks.match_check": {"queue": "match"},
    "takedown.notices.tasks.deliver_notice": {"queue": "deliver"},
    "takedown.notices.tasks.deadlines_due": {"queue": "default"},
    "takedown.notices.tasks.deliveries_resume": {"queue": "default"},
    "takedown.notices.*": {"queue": "deliver"},
    "takedown.platforms.tasks.deliver_platform_event": {"queue": "deliver"},
}
# The one beat schedule. Each entry names a task and how often it runs.
CELERY_BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    "beat-heartbeat": {"task": "takedown.core.tasks.beat_heartbeat", "schedule": 60.0},
    "outbox-relay": {"task": "takedown.core.tasks.outbox_relay", "schedule": 60.0},
    "recheck-due-items": {"task": "takedown.matching.tasks.recheck_due", "schedule": 15 * 60.0},
    "notice-deadlines": {"task": "takedown.notices.tasks.deadlines_due", "schedule": 15 * 60.0},
    "checks-resume": {"task": "takedown.matching.tasks.checks_resume", "schedule": 5 * 60.0},
    "deliveries-resume": {"task": "takedown.notices.tasks.deliveries_resume", "schedule": 5 * 60.0},
    "cases-purge-expired": {"task": "takedown.cases.tasks.purge_expired_cases", "schedule": 6 * 60 * 60.0},
    "cases-erase-withdrawn": {"task": "takedown.cases.tasks.erase_withdrawn_cases", "schedule": 10 * 60.0},
    "sessions-clear": {"task": "takedown.core.tasks.sessions_clear", "schedule": 60 * 60.0},
    "bank-snapshots-build": {
        "task": "takedown.matching.tasks.bank_snapshots_build",
        "schedule": float(_env_int("BANK_SNAPSHOT_BUILD_SECONDS", 600)),
    },
}

# --- authentication -------------------------------------------------------------------------------

AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "staff:home"
ACCOUNT_LOGOUT_REDIRECT_URL = "home"
# Staff accounts are created by an organisation admin, never by public sign-up.
ACCOUNT_ADAPTER = "takedown.organizations.adapters.StaffAccountAdapter"
MFA_ADAPTER = "takedown.organizations.adapters.EncryptedMFAAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_LOGIN_ON_PASSWORD_RESET = False
ACCOUNT_SESSION_REMEMBER = False
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_RATE_LIMITS = {"login_failed": "5/5m/ip,5/5m/key"}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = os.environ.get("MFA_TOTP_ISSUER", "Takedown")
SESSION_COOKIE_AGE = _env_int("SESSION_COOKIE_AGE", 8 * 3600)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True

# --- field encryption -----------------------------------------------------------------------------
# Comma-separated Fernet keys. New writes use the first; every key decrypts, so a new key can be
# put first and `manage.py rotate_encryption_keys` re-encrypts the rows before the old key goes.

_field_keys = os.environ.get("FIELD_ENCRYPTION_KEYS", "").strip()
if PRODUCTION and not _field_keys:
    raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS must be set when TAKEDOWN_ENV=production.")
FIELD_ENCRYPTION_KEYS = [k.strip() for k in _field_keys.split(",") if k.strip()] or [
    _dev_secret_file("field_encryption_key", lambda: Fernet.generate_key().decode("ascii"))
]
for _key in FIELD_ENCRYPTION_KEYS:
    try:
        Fernet(_key.encode("ascii"))
    except (ValueError, UnicodeEncodeError) as _exc:
        raise ImproperlyConfigured(
            "Every FIELD_ENCRYPTION_KEYS entry must be a urlsafe base64 Fernet key "
            "(python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')."
        ) from _exc

# --- email ----------------------------------------------------------------------------------------

EMAIL_HOST = os.environ.get("EMAIL_HOST", "").strip()
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_PORT = _env_int("EMAIL_PORT", 587)
    EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = _env_bool("EMAIL_USE_TLS", default=EMAIL_PORT == 587)
    EMAIL_USE_SSL = _env_bool("EMAIL_USE_SSL", default=EMAIL_PORT == 465)
    EMAIL_TIMEOUT = _env_int("EMAIL_TIMEOUT", 20)
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Takedown <no-reply@takedown.invalid>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- internationalisation -------------------------------------------------------------------------

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("es", _("Spanish"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "UTC"
USE_TZ = True

# --- static files ---------------------------------------------------------------------------------

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", VAR_DIR / "static"))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise warns on every request without it
# Outside production WhiteNoise serves static files straight from the source folders, so the
# embedded default works with DEBUG off (runserver serves them only in debug mode).
WHITENOISE_USE_FINDERS = not PRODUCTION
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "takedown.core.storage.StaticStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# --- security -------------------------------------------------------------------------------------

SECURE_CONTENT_TYPE_NOSNIFF = True
# "same-origin", not "no-referrer": with no-referrer browsers send `Origin: null` on form posts,
# which CSRF protection must refuse. Other sites still never see where a survivor came from.
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if _env_bool("BEHIND_TLS_PROXY", PRODUCTION) else None
# How many reverse proxies you run in front of gunicorn, each appending the address it saw to
# X-Forwarded-For. Every per-address limit (PIN sign-in, case opening, staff sign-in) reads the
# client's address through takedown.core.http.client_ip: 0 is REMOTE_ADDR, N the N-th entry from
# the right. Behind a proxy, 0 makes every limit one global limit (issue 14, defect 5); a count
# larger than the real number of proxies lets clients choose their address. Defaults to 1 when
# BEHIND_TLS_PROXY is on (the production profile's one TLS proxy).
TRUSTED_PROXY_COUNT = _env_int("TRUSTED_PROXY_COUNT", 1 if SECURE_PROXY_SSL_HEADER else 0)
if TRUSTED_PROXY_COUNT < 0:
    raise ImproperlyConfigured("TRUSTED_PROXY_COUNT must be 0 or more.")
# allauth's own limits count by the same address (its adapter also asks client_ip).
ALLAUTH_TRUSTED_PROXY_COUNT = TRUSTED_PROXY_COUNT
if PRODUCTION:
    SECURE_SSL_REDIRECT = _env_bool("SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = _env_int("SECURE_HSTS_SECONDS", 31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = _env_bool("SECURE_HSTS_PRELOAD", False)
    if not SECURE_HSTS_PRELOAD:
        # Preloading is a one-way commitment an operator must choose; the deploy check's warning
        # about it is silenced only because the choice is explicit here.
        SILENCED_SYSTEM_CHECKS = ["security.W021"]

# A strict policy: no inline script or style anywhere, so an injected tag cannot run.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:", "blob:"],
        "media-src": [SELF, "blob:"],
        "worker-src": [SELF, "blob:"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    }
}

# The neutral page the quick-exit control replaces a survivor's page with. It must be an ordinary,
# unremarkable site; tests point it at a local server.
QUICK_EXIT_URL = os.environ.get("QUICK_EXIT_URL", "https://www.bbc.com/weather")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # JSON with a nesting limit: deeply nested bodies are a 400, not a RecursionError (500).
    "DEFAULT_PARSER_CLASSES": [
        "takedown.core.api.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "EXCEPTION_HANDLER": "takedown.core.api.exception_handler",
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}

# --- platform API ---------------------------------------------------------------------------------

SPECTACULAR_SETTINGS = {
    "TITLE": "Takedown platform API",
    "DESCRIPTION": (
        "Notices addressed to your platform, batch hash lookup and the consented hash feed. See docs/api.md."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI and Redoc from the drf-spectacular-sidecar package: nothing loads from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}
# Requests per minute per API key unless the platform account sets its own limit.
PLATFORM_API_RATE_LIMIT_PER_MINUTE = _env_int("PLATFORM_API_RATE_LIMIT_PER_MINUTE", 600)
# Keys are stored as HMAC-SHA256(pepper, secret). Empty: derived from SECRET_KEY. Changing it
# invalidates every key.
PLATFORM_API_KEY_PEPPER = os.environ.get("PLATFORM_API_KEY_PEPPER", "")
# The key of the opaque per-platform case tokens in lookup answers. Empty: derived from SECRET_KEY.
PLATFORM_CASE_TOKEN_KEY = os.environ.get("PLATFORM_CASE_TOKEN_KEY", "")
# How long a rotated key keeps working by default.
PLATFORM_API_KEY_ROTATION_GRACE_SECONDS = _env_int("PLATFORM_API_KEY_ROTATION_GRACE_SECONDS", 24 * 3600)
# A lookup process checks the feed for changes at most this often: the bound on how long a
# withdrawn hash can still be answered (target: one minute).
PLATFORM_LOOKUP_REFRESH_SECONDS = _env_int("PLATFORM_LOOKUP_REFRESH_SECONDS", 5)

# --- the consented bank's snapshots (docs/scaling.md) ----------------------------------------------
# Where the beat's build task writes the bank's index and every process maps it from: "local" (a
# private directory on this machine, BANK_SNAPSHOT_DIR, mode 700, on an encrypted volume or a
# tmpfs), "s3" (an S3-compatible bucket for several machines, encrypted with BANK_SNAPSHOT_S3_KEY;
# BANK_SNAPSHOT_DIR is then each machine's local copy) or "none" (each process builds its bank from
# the feed, as before). A store belongs to one database.
BANK_SNAPSHOT_STORE = os.environ.get("BANK_SNAPSHOT_STORE", "local").strip() or "local"
BANK_SNAPSHOT_DIR = Path(os.environ.get("BANK_SNAPSHOT_DIR", "") or VAR_DIR / "bank-snapshots")
BANK_SNAPSHOT_S3_BUCKET = os.environ.get("BANK_SNAPSHOT_S3_BUCKET", "")
BANK_SNAPSHOT_S3_PREFIX = os.environ.get("BANK_SNAPSHOT_S3_PREFIX", "bank/")
BANK_SNAPSHOT_S3_ENDPOINT_URL = os.environ.get("BANK_SNAPSHOT_S3_ENDPOINT_URL", "")
BANK_SNAPSHOT_S3_REGION = os.environ.get("BANK_SNAPSHOT_S3_REGION", "")
# 32 random bytes in URL-safe base64 (for example `openssl rand 32 | basenc --base64url`).
BANK_SNAPSHOT_S3_KEY = os.environ.get("BANK_SNAPSHOT_S3_KEY", "")
# How often the beat asks for a build; a build happens only when one is due: a hash of the latest
# snapshot left the bank (so a withdrawn value is gone from the files within this interval), more
# than BANK_SNAPSHOT_MAX_CHANGED_PERCENT of it changed, or it is older than BANK_SNAPSHOT_MAX_AGE_SECONDS.
BANK_SNAPSHOT_BUILD_SECONDS = _env_int("BANK_SNAPSHOT_BUILD_SECONDS", 600)
BANK_SNAPSHOT_MAX_CHANGED_PERCENT = _env_int("BANK_SNAPSHOT_MAX_CHANGED_PERCENT", 5)
BANK_SNAPSHOT_MAX_AGE_SECONDS = _env_int("BANK_SNAPSHOT_MAX_AGE_SECONDS", 6 * 3600)
# The build task's hard time limit (the first build at 10 million hashes reads and decrypts them all).
BANK_SNAPSHOT_BUILD_TIME_LIMIT = _env_int("BANK_SNAPSHOT_BUILD_TIME_LIMIT", 3600)

# --- logging --------------------------------------------------------------------------------------
# Structured enough to grep; never log request bodies (they may carry hashes or contact details).

LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.request": {"level": "ERROR"},
        # urllib3 logs every request line (host and path) at DEBUG: for the fetcher that is a
        # survivor's reported URL, so it never goes below WARNING (tests/test_log_hygiene.py).
        "urllib3": {"level": "WARNING"},
        # At DEBUG, a template variable that fails to resolve is logged with the whole template
        # context in the message: case references, items, contact details.
        "django.template": {"level": "INFO"},
    },
}

# --- cases ----------------------------------------------------------------------------------------

# The organisation whose advocates see cases that survivors open on their own. Development uses
# the demo organisation that `manage.py demo_seed` creates.
INTAKE_ORGANIZATION_SLUG = os.environ.get("INTAKE_ORGANIZATION_SLUG", "" if PRODUCTION else "demo-helpline")
# Abuse resistance: cases opened from one network address per hour, and links a survivor session
# may add to one case per day (over it, the case is flagged for an advocate's review).
CASES_OPENED_PER_ADDRESS_PER_HOUR = _env_int("CASES_OPENED_PER_ADDRESS_PER_HOUR", 10)
REPORTED_LINKS_PER_CASE_PER_DAY = _env_int("REPORTED_LINKS_PER_CASE_PER_DAY", 200)
# Hard caps on photo fingerprints (docs/threat-model.md, "Feed integrity"): per picture, per video
# (one per sampled frame), files and fingerprints per case, files a case may add per day. Over a
# cap nothing of the bundle is added and the survivor is told why.
HASHES_PER_IMAGE_MAX = _env_int("HASHES_PER_IMAGE_MAX", 64)
HASHES_PER_VIDEO_MAX = _env_int("HASHES_PER_VIDEO_MAX", 4000)
FILES_PER_CASE_MAX = _env_int("FILES_PER_CASE_MAX", 500)
HASHES_PER_CASE_MAX = _env_int("HASHES_PER_CASE_MAX", 40_000)
FILES_PER_CASE_PER_DAY = _env_int("FILES_PER_CASE_PER_DAY", 100)
# More files than this in one day: the case's sharing is held (nothing goes to platforms) and the
# case is flagged until an advocate reviews it and vouches again.
SHARING_HOLD_FILES_PER_DAY = _env_int("SHARING_HOLD_FILES_PER_DAY", 30)
# A survivor signed in with reference + PIN is signed out after this much inactivity.
SURVIVOR_SESSION_IDLE_SECONDS = _env_int("SURVIVOR_SESSION_IDLE_SECONDS", 30 * 60)
# ... and after this long however active (the survivor signs in again with reference + PIN).
SURVIVOR_SESSION_MAX_SECONDS = _env_int("SURVIVOR_SESSION_MAX_SECONDS", 2 * 3600)
# The site's public address (scheme and host, no trailing slash): the one link in the short emails
# survivors who chose email contact get ("there is news on your case; sign in to read it").
SITE_URL = os.environ.get("SITE_URL", "" if PRODUCTION else "http://127.0.0.1:8000").rstrip("/")
# At most one such email per case in this many seconds (news in between waits for the next one).
SURVIVOR_NEWS_MIN_INTERVAL_SECONDS = _env_int("SURVIVOR_NEWS_MIN_INTERVAL_SECONDS", 6 * 3600)
# How a survivor who lost their PIN reaches an advocate (a phone number or an email address; shown
# on the sign-in page; empty: the page only says that an advocate can help).
SURVIVOR_HELP_CONTACT = os.environ.get("SURVIVOR_HELP_CONTACT", "").strip()
# A closed case is deleted this many days after it was closed (beat task `purge_expired_cases`,
# or `manage.py purge_expired_cases`); until then it can be reopened if the content comes back.
CASE_RETENTION_DAYS = _env_int("CASE_RETENTION_DAYS", 365)

# --- checking reported URLs -----------------------------------------------------------------------

# Check a reported link as soon as it is reported (tests switch this off where they do not run a
# local server, so they never reach the internet).
CHECK_ON_REPORT = _env_bool("CHECK_ON_REPORT", True)
# Loopback addresses (and any port) may be fetched only by the project's own tests and the demo
# (scripts/run, development only: its demo site on 127.0.0.1, DEMO_SITE_PORT).
FETCH_ALLOW_LOOPBACK = _env_bool("FETCH_ALLOW_LOOPBACK", False)
if PRODUCTION and FETCH_ALLOW_LOOPBACK:
    raise ImproperlyConfigured("FETCH_ALLOW_LOOPBACK is for tests only and must be off in production.")
# A dotted path to a resolver (host -> addresses) replacing the system's; the test suite uses one
# that resolves nothing, so no test can reach the internet.
FETCH_RESOLVER = os.environ.get("FETCH_RESOLVER", "")
# The local demo site's port on 127.0.0.1 (`manage.py demo_site`, started by scripts/run; the demo
# cases' links point at it through the demo resolver, takedown.demo.hosts).
DEMO_SITE_PORT = _env_int("DEMO_SITE_PORT", 8001)
FETCH_USER_AGENT = os.environ.get("FETCH_USER_AGENT", "TakedownBot/0.1 (+https://takedown.invalid/bot)")
FETCH_TOTAL_TIMEOUT = _env_int("FETCH_TOTAL_TIMEOUT", 90)
# Transient failures (timeouts, 5xx, dropped connections) are retried 5 times, waiting about
# base x 2^n seconds (with jitter); tests shorten the base.
FETCH_RETRY_BASE_SECONDS = float(os.environ.get("FETCH_RETRY_BASE_SECONDS", "30"))
# Items still online are re-checked this often; removed items are watched for re-uploads this long.
RECHECK_INTERVAL_HOURS = _env_int("RECHECK_INTERVAL_HOURS", 6)
RECHECK_REMOVED_DAYS = _env_int("RECHECK_REMOVED_DAYS", 30)

# --- rendering pages a script builds (docs/fetching.md) -------------------------------------------
# A page whose static HTML holds no medium but runs scripts (a gallery built from JSON, a player
# that assembles its stream's address) is rendered in headless Chromium through Playwright, every
# request of the browser made by the SSRF-safe fetcher, as a task on RENDER_QUEUE. On in
# production; on the embedded default only when Chromium and Playwright are installed. Off, such a
# page is recorded as "could not be read fully", never as "nothing matching found".
CHROMIUM_PATH = os.environ.get("CHROMIUM_PATH", "").strip() or "/usr/bin/chromium"
_chromium_present = (Path(CHROMIUM_PATH).exists() or shutil.which(CHROMIUM_PATH) is not None) and (
    importlib.util.find_spec("playwright") is not None
)
RENDER_PAGES = _env_bool("RENDER_PAGES", PRODUCTION or _chromium_present)
# Each render worker process keeps one browser (starting one costs 1.5 s or more), with a fresh
# context per page; off, every page starts and stops its own browser.
RENDER_REUSE_BROWSER = _env_bool("RENDER_REUSE_BROWSER", True)
# Limits of one render (seconds; the browser's processes together, MiB), and of the render task.
RENDER_TIMEOUT = _env_int("RENDER_TIMEOUT", 20)
RENDER_MEMORY_MB = _env_int("RENDER_MEMORY_MB", 1024)
RENDER_TASK_SOFT_TIME_LIMIT = _env_int("RENDER_TASK_SOFT_TIME_LIMIT", CELERY_TASK_SOFT_TIME_LIMIT)
RENDER_TASK_TIME_LIMIT = _env_int("RENDER_TASK_TIME_LIMIT", CELERY_TASK_TIME_LIMIT)
if not 0 < RENDER_TASK_SOFT_TIME_LIMIT < RENDER_TASK_TIME_LIMIT < TASK_CLAIM_STALE_SECONDS:
    raise ImproperlyConfigured(
        "RENDER_TASK_SOFT_TIME_LIMIT < RENDER_TASK_TIME_LIMIT < TASK_CLAIM_STALE_SECONDS is required"
        " (a render claim must not go stale while its task may still run)."
    )

# --- detectors (deepfake-aware matching, docs/detectors.md) ---------------------------------------

# Detectors run on fetched media of cases that may hold fakes or that have face templates. Off:
# hash matching only. DETECTORS_CONFIG is a JSON list of {"name", "class", "enabled", "options"}
# entries (inline, or a path to a JSON file); empty means the shipped set (explicit content, face
# similarity, provenance; the ONNX plug-in only when configured).
DETECTORS_ENABLED = _env_bool("DETECTORS_ENABLED", True)
DETECTORS_CONFIG: list[dict[str, Any]] | None = None
_detectors_raw = os.environ.get("DETECTORS_CONFIG", "").strip()
if _detectors_raw:
    import json as _json

    try:
        _text = Path(_detectors_raw).read_text() if not _detectors_raw.startswith("[") else _detectors_raw
        DETECTORS_CONFIG = _json.loads(_text)
    except (OSError, ValueError) as _exc:
        raise ImproperlyConfigured(f"DETECTORS_CONFIG is not a JSON list or a readable JSON file: {_exc}") from None
    if not isinstance(DETECTORS_CONFIG, list):
        raise ImproperlyConfigured("DETECTORS_CONFIG must be a JSON list of detector entries.")
# At most this many media of one page go through the detectors (each costs up to a second).
DETECTOR_MAX_MEDIA = _env_int("DETECTOR_MAX_MEDIA", 20)

# --- notices --------------------------------------------------------------------------------------

# The platform registry that `manage.py load_platforms` loads (a versioned file in the repository).
NOTICES_PLATFORMS_FILE = os.environ.get(
    "NOTICES_PLATFORMS_FILE", str(BASE_DIR / "takedown" / "registry" / "data" / "platforms.yaml")
)
# Notices give a case relay address, case-<token>@relay.<this domain>, when the survivor did not
# choose email contact and the organisation has no notice address. Empty: no relay address.
NOTICES_RELAY_DOMAIN = os.environ.get("NOTICES_RELAY_DOMAIN", "").strip().lower()
# The language notices are written in (platforms' trust and safety teams read English).
NOTICES_LANGUAGE = os.environ.get("NOTICES_LANGUAGE", "en")
# Delivery: the sender of notice emails (empty: DEFAULT_FROM_EMAIL), whether the PDF is attached,
# timeouts of the SMTP and webhook calls, and the base of the retry backoff (doubling, capped at
# 60 times the base).
NOTICES_FROM_EMAIL = os.environ.get("NOTICES_FROM_EMAIL", "").strip()
NOTICES_ATTACH_PDF = _env_bool("NOTICES_ATTACH_PDF", True)
NOTICES_SMTP_TIMEOUT = _env_int("NOTICES_SMTP_TIMEOUT", 30)
NOTICES_WEBHOOK_CONNECT_TIMEOUT = _env_int("NOTICES_WEBHOOK_CONNECT_TIMEOUT", 10)
NOTICES_WEBHOOK_READ_TIMEOUT = _env_int("NOTICES_WEBHOOK_READ_TIMEOUT", 30)
NOTICES_RETRY_BASE_SECONDS = float(os.environ.get("NOTICES_RETRY_BASE_SECONDS", "30"))
# After a deadline passes, how long the re-check may take before escalation is proposed anyway.
NOTICES_RECHECK_WAIT_MINUTES = _env_int("NOTICES_RECHECK_WAIT_MINUTES", 60)
# Unknown hosts: who holds a site's address is asked of the registry IANA's RDAP bootstrap files
# name (RFC 9224, fetched from this base URL through the SSRF-safe fetcher, kept in the database and
# refreshed when older than the maximum age or by `manage.py rdap_bootstrap`), with this timeout per
# request. Empty: no lookup (the advocate enters the site's contact); Cloudflare's ranges are
# checked anyway.
NOTICES_RDAP_BOOTSTRAP_URL = os.environ.get("NOTICES_RDAP_BOOTSTRAP_URL", "https://data.iana.org/rdap/").strip()
NOTICES_RDAP_BOOTSTRAP_MAX_AGE_DAYS = _env_int("NOTICES_RDAP_BOOTSTRAP_MAX_AGE_DAYS", 30)
NOTICES_RDAP_TIMEOUT = _env_int("NOTICES_RDAP_TIMEOUT", 10)
