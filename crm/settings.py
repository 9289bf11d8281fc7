"""Settings, every one from the environment (see the README for each and its default)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import dj_database_url
from cryptography.fernet import Fernet
from csp.constants import NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured

from crm.crypto import development_key
from crm.env import env_bool, env_choice, env_float, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", False)
# Production unless a run says otherwise: `make run` and `make test` set CRM_ENV=development, which allows the
# development SECRET_KEY and an encryption key derived from it. Production refuses to start without real keys.
CRM_ENV = env_choice("CRM_ENV", "production", ("production", "development"))
DEVELOPMENT = DEBUG or CRM_ENV == "development"
_DEV_SECRET_KEY = "dev-only-secret-key-change-me-in-production-0123456789"  # noqa: S105 (refused in production)
SECRET_KEY = env_str("SECRET_KEY", _DEV_SECRET_KEY if DEVELOPMENT else "")
if not DEVELOPMENT and (SECRET_KEY == _DEV_SECRET_KEY or len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5
                        or SECRET_KEY.startswith("django-insecure-")):
    raise ImproperlyConfigured(
        "SECRET_KEY must be set to a random value of at least 50 characters in production (DEBUG=false). "
        "Generate one with: python -c 'import secrets; print(secrets.token_urlsafe(64))'. "
        "For a local run set CRM_ENV=development instead.")
# Fernet keys for the Spark credentials and tokens kept at rest: the first encrypts, all decrypt (rotation).
# FIELD_ENCRYPTION_KEY (one key) is still read when FIELD_ENCRYPTION_KEYS is not set.
FIELD_ENCRYPTION_KEYS = env_list("FIELD_ENCRYPTION_KEYS", "") or env_list("FIELD_ENCRYPTION_KEY", "")
if not FIELD_ENCRYPTION_KEYS:
    if not DEVELOPMENT:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEYS must be set in production (DEBUG=false): one or more Fernet keys, comma-separated, "
            "the newest first. Generate one with: python -c "
            "'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'.")
    FIELD_ENCRYPTION_KEYS = [development_key(SECRET_KEY)]
for _number, _key in enumerate(FIELD_ENCRYPTION_KEYS, start=1):
    try:
        Fernet(_key.encode())
    except ValueError:
        raise ImproperlyConfigured(f"FIELD_ENCRYPTION_KEYS: key #{_number} is not a Fernet key "
                                   "(32 url-safe base64-encoded bytes).") from None
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "crm.admin_site.FlexAdminConfig",  # django.contrib.admin with FlexCRM's site (crm/admin_site.py)
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "django.contrib.humanize",
    "django_htmx",
    "template_partials",
    "axes",
    "csp",
    "crm.agents",
    "crm.outbox",
    "contacts_app",
    "newsfeeds_app",
    "sharing_app",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "crm.middleware.UnstorableInputMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as axes asks: it turns a locked-out login into the login page with the lockout message.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "crm.urls"
WSGI_APPLICATION = "crm.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "builtins": ["template_partials.templatetags.partials"],
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "contacts_app.context_processors.spark_status",
            ],
        },
    },
]

DATABASE_URL = env_str("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/crm")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "contacts:list"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "America/Chicago")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "var" / "staticfiles"
WHITENOISE_USE_FINDERS = True

SESSION_COOKIE_HTTPONLY = True
# Read from Redis (the cache) on every request, written through to PostgreSQL: no session query per page.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the page, not the cookie
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# --- HTTPS (on by default in production; a development run is plain HTTP) ------------------------------------------
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEVELOPMENT)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # a load balancer checks health over plain HTTP inside the network
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEVELOPMENT)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEVELOPMENT)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEVELOPMENT else 31_536_000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)


def _proxy_ssl_header(raw: str) -> tuple[str, str] | None:
    """"X-Forwarded-Proto: https" -> ("HTTP_X_FORWARDED_PROTO", "https"); trust it only behind a proxy that sets it."""
    if not raw.strip():
        return None
    name, sep, value = raw.partition(":")
    if not sep or not name.strip() or not value.strip():
        raise ImproperlyConfigured(f"SECURE_PROXY_SSL_HEADER={raw!r} must look like 'X-Forwarded-Proto: https'.")
    return "HTTP_" + name.strip().upper().replace("-", "_"), value.strip()


SECURE_PROXY_SSL_HEADER = _proxy_ssl_header(env_str("SECURE_PROXY_SSL_HEADER", ""))

# --- Content Security Policy (django-csp) ----------------------------------------------------------------------------
# No inline script anywhere (htmx's own indicator styles are off, see base.html). Inline style *attributes* stay
# allowed (style-src-attr): the score bars' widths are data, and Django's admin sets some; they cannot run script,
# and <style> elements (the CSS-selector tricks that read a page) stay refused. Each *_SRC adds sources to 'self'.
_csp_report_only = env_bool("CSP_REPORT_ONLY", False)
_CSP_DIRECTIVES = {
    "default-src": [SELF],
    "script-src": [SELF, *env_list("CSP_SCRIPT_SRC", "")],
    "style-src": [SELF, *env_list("CSP_STYLE_SRC", "")],
    "style-src-attr": [UNSAFE_INLINE],
    "img-src": [SELF, "data:", *env_list("CSP_IMG_SRC", "")],
    "font-src": [SELF, *env_list("CSP_FONT_SRC", "")],
    "connect-src": [SELF, *env_list("CSP_CONNECT_SRC", "")],
    "object-src": [NONE],
    "base-uri": [SELF],
    "frame-ancestors": [NONE],
}
if env_str("CSP_REPORT_URI", ""):
    _CSP_DIRECTIVES["report-uri"] = [env_str("CSP_REPORT_URI", "")]
if _csp_report_only:
    CONTENT_SECURITY_POLICY_REPORT_ONLY = {"DIRECTIVES": _CSP_DIRECTIVES}
else:
    CONTENT_SECURITY_POLICY = {"DIRECTIVES": _CSP_DIRECTIVES}

# --- Login throttling (django-axes) ------------------------------------------------------------------------------
# AXES_FAILURE_LIMIT wrong passwords for one username from one address lock that pair out for AXES_COOLOFF_MINUTES;
# the login pages say so, and a broker unlocks it early in the admin (Access attempts, delete).
AUTHENTICATION_BACKENDS = [
    "crm.login_throttle.LoginThrottleBackend",
    "crm.auth_backends.AgentModelBackend",  # Django's ModelBackend, loading the user with their Spark link
    # Only so sessions signed in before AgentModelBackend still load (a session names its backend); new sign-ins
    # are AgentModelBackend's.
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 10, minimum=1)
AXES_COOLOFF_MINUTES = env_int("AXES_COOLOFF_MINUTES", 15, minimum=1)
AXES_COOLOFF_TIME = dt.timedelta(minutes=AXES_COOLOFF_MINUTES)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "crm.login_throttle.lockout_response"
AXES_VERBOSE = False

# --- Spark (flexmls) API -------------------------------------------------------------------
SPARK_API_BASE = env_str("SPARK_API_BASE", "http://127.0.0.1:8765").rstrip("/")
SPARK_API_VERSION = env_str("SPARK_API_VERSION", "v1")
# The brokerage's key. With SPARK_API_USER_MODE on, agents without credentials of their own act through it
# with ApiUser=<their Spark user id>.
SPARK_API_KEY = env_str("SPARK_API_KEY", "")
SPARK_API_SECRET = env_str("SPARK_API_SECRET", "")
# api_key: API key + secret sessions (SPARK_API_KEY/SECRET); oauth: OAuth 2 tokens per agent.
SPARK_AUTH_MODE = env_choice("SPARK_AUTH_MODE", "api_key", ("api_key", "oauth"))
SPARK_USER_AGENT = env_str("SPARK_USER_AGENT", "FlexCRM/1.0")
SPARK_CONNECT_TIMEOUT = env_float("SPARK_CONNECT_TIMEOUT", 3.05, minimum=0.1)
SPARK_READ_TIMEOUT = env_float("SPARK_READ_TIMEOUT", 20.0, minimum=0.1)
SPARK_MAX_RETRIES = env_int("SPARK_MAX_RETRIES", 3, minimum=0)
SPARK_RATE_LIMIT_REQUESTS = env_int("SPARK_RATE_LIMIT_REQUESTS", 1500, minimum=1)
SPARK_RATE_LIMIT_WINDOW_S = env_int("SPARK_RATE_LIMIT_WINDOW_S", 300, minimum=1)
SPARK_RATE_LIMIT_ENABLED = env_bool("SPARK_RATE_LIMIT_ENABLED", True)
SPARK_OAUTH_CLIENT_ID = env_str("SPARK_OAUTH_CLIENT_ID", "crm-demo-client")
SPARK_OAUTH_CLIENT_SECRET = env_str("SPARK_OAUTH_CLIENT_SECRET", "crm-demo-secret")
SPARK_OAUTH_AUTHORIZE_URL = env_str("SPARK_OAUTH_AUTHORIZE_URL", SPARK_API_BASE + "/oauth2")

# How often the store is refreshed from Spark.
SYNC_INTERVAL_S = env_int("SYNC_INTERVAL_S", 120, minimum=5)
CONTACTS_PAGE_SIZE = 50

# --- Celery ---------------------------------------------------------------------------------
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_QUEUE", "crm")
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ALWAYS_EAGER = False
CELERY_BEAT_SCHEDULE = {
    "sync-all-agents": {
        "task": "contacts_app.tasks.sync_all_agents",
        "schedule": float(SYNC_INTERVAL_S),
    },
}

LOG_LEVEL = env_choice("LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR"))
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "filters": {"redact": {"()": "crm.logfilters.RedactSecretsFilter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact"]}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "crm": {"level": LOG_LEVEL},
        "contacts_app": {"level": LOG_LEVEL},
        "newsfeeds_app": {"level": LOG_LEVEL},
        "sharing_app": {"level": LOG_LEVEL},
    },
}

# Shared links: how old the listings/saved searches/links cache may get before a page refreshes it, and how many
# pages of listings one sync run reads (a large MLS fills the cache over several runs).
SHARING_MAX_AGE_S = env_int("SHARING_MAX_AGE_S", 2 * SYNC_INTERVAL_S, minimum=0)
SHARING_LISTING_PAGES_PER_RUN = env_int("SHARING_LISTING_PAGES_PER_RUN", 40, minimum=1)

# --- Outbox (writes to Spark) -------------------------------------------------------------------
OUTBOX_CLAIM_S = env_int("OUTBOX_CLAIM_S", 120, minimum=5)
OUTBOX_BACKOFF_BASE_S = env_float("OUTBOX_BACKOFF_BASE_S", 2.0, minimum=0.01)
OUTBOX_BACKOFF_CAP_S = env_float("OUTBOX_BACKOFF_CAP_S", 300.0, minimum=0.1)
OUTBOX_SWEEP_S = env_int("OUTBOX_SWEEP_S", 10, minimum=1)
OUTBOX_SWEEP_GRACE_S = env_int("OUTBOX_SWEEP_GRACE_S", 5, minimum=0)
# A write that fails this many times stops and is shown failed (no write is retried forever).
OUTBOX_MAX_ATTEMPTS = env_int("OUTBOX_MAX_ATTEMPTS", 12, minimum=1)
UNDO_WINDOW_S = env_int("UNDO_WINDOW_S", 10, minimum=0)
ACTIVITY_MAX_AGE_S = env_int("ACTIVITY_MAX_AGE_S", 900, minimum=0)
# The activity refresher reads every linked agent's contacts' 30-day series (and so their 7-day trend), most valuable
# first, spending at most ACTIVITY_BUDGET_SHARE of each Spark key's rate budget (0 turns it off), and only while the
# agents' own requests leave that much of the window unused. A series older than ACTIVITY_REFRESH_S is read again;
# a contact whose activity Spark refuses (404, 403) is not asked again for ACTIVITY_RETRY_S (doubling, up to 7x).
ACTIVITY_BUDGET_SHARE = env_float("ACTIVITY_BUDGET_SHARE", 0.2, minimum=0.0)
if ACTIVITY_BUDGET_SHARE > 1:
    raise ImproperlyConfigured(f"ACTIVITY_BUDGET_SHARE={ACTIVITY_BUDGET_SHARE} must be between 0 and 1.")
ACTIVITY_REFRESH_S = env_int("ACTIVITY_REFRESH_S", 6 * 3600, minimum=60)
ACTIVITY_RETRY_S = env_int("ACTIVITY_RETRY_S", 24 * 3600, minimum=1)
ACTIVITY_TICK_S = env_float("ACTIVITY_TICK_S", 10.0, minimum=0.2)
# A tick goes to the background queue (crm/celery.py) and expires after a tick period: a tick not started by then is
# dropped (the next one does its work), so ticks never pile up behind a busy or stopped background worker.
CELERY_BEAT_SCHEDULE["refresh-activity"] = {"task": "contacts_app.activity_tasks.refresh_activity_tick",
                                            "schedule": ACTIVITY_TICK_S, "options": {"expires": ACTIVITY_TICK_S}}
CELERY_BEAT_SCHEDULE["sync-newsfeeds"] = {"task": "newsfeeds_app.tasks.sync_all_newsfeeds", "schedule": float(SYNC_INTERVAL_S)}
CELERY_BEAT_SCHEDULE["sync-sharing"] = {"task": "sharing_app.tasks.sync_all_sharing", "schedule": float(SYNC_INTERVAL_S)}
CELERY_BEAT_SCHEDULE["outbox-sweep"] = {"task": "crm.outbox.tasks.sweep_outbox", "schedule": float(OUTBOX_SWEEP_S)}
# The duplicates finder: agents whose contacts changed since their last check are checked again this often.
DUPLICATES_SWEEP_S = env_float("DUPLICATES_SWEEP_S", 60.0)
DUPLICATES_SWEEP_BATCH = 200
CELERY_BEAT_SCHEDULE["duplicates-sweep"] = {"task": "contacts_app.tasks.sweep_duplicates",
                                            "schedule": DUPLICATES_SWEEP_S, "options": {"expires": DUPLICATES_SWEEP_S}}
# The broker's "Clients held by two or more agents": the keys two agents share are recomputed this often.
SHARED_CLIENTS_REFRESH_S = env_int("SHARED_CLIENTS_REFRESH_S", 300, minimum=5)
CELERY_BEAT_SCHEDULE["shared-clients-refresh"] = {"task": "contacts_app.tasks.refresh_shared_clients",
                                                  "schedule": float(SHARED_CLIENTS_REFRESH_S),
                                                  "options": {"expires": float(SHARED_CLIENTS_REFRESH_S)}}
CELERY_BEAT_SCHEDULE["csv-import-sweep"] = {"task": "contacts_app.tasks.sweep_csv_imports",
                                            "schedule": float(OUTBOX_SWEEP_S)}
# The agent directory (whom a contact may be transferred to) is refreshed from Spark this often, and after a sync
# that finds it older than this.
DIRECTORY_REFRESH_S = env_int("DIRECTORY_REFRESH_S", 3600, minimum=60)
CELERY_BEAT_SCHEDULE["refresh-agent-directories"] = {"task": "contacts_app.tasks.refresh_agent_directories",
                                                     "schedule": float(DIRECTORY_REFRESH_S)}

# CSV in and out: the largest file and the most rows an import takes, and the rows an export reads per chunk of
# its server-side cursor.
CSV_IMPORT_MAX_BYTES = env_int("CSV_IMPORT_MAX_BYTES", 20 * 1024 * 1024, minimum=1024)
CSV_IMPORT_MAX_ROWS = env_int("CSV_IMPORT_MAX_ROWS", 50_000, minimum=1)
# A file up to this size is read and previewed in the upload's request; a larger one by a worker, the page following.
CSV_IMPORT_INLINE_BYTES = env_int("CSV_IMPORT_INLINE_BYTES", 128 * 1024, minimum=0)
CSV_IMPORT_INLINE_ROWS = env_int("CSV_IMPORT_INLINE_ROWS", 2000, minimum=0)
CSV_EXPORT_CHUNK = env_int("CSV_EXPORT_CHUNK", 2000, minimum=1)

CACHES = {"default": {"BACKEND": "crm.cache.RedisCache", "LOCATION": REDIS_URL,
                      "KEY_PREFIX": env_str("CACHE_PREFIX", "crm")}}
