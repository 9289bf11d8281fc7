"""Settings, every one from the environment (see the README for each and its default)."""

from __future__ import annotations

from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from crm.env import env_bool, env_choice, env_float, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY", "dev-only-secret-key-change-me-in-production-0123456789")
if not DEBUG and SECRET_KEY.startswith("dev-only") and env_bool("REQUIRE_SECRET_KEY", False):
    raise ImproperlyConfigured("SECRET_KEY must be set in production (REQUIRE_SECRET_KEY is true).")
# Key for the Spark credentials kept at rest (Fernet); defaults to one derived from SECRET_KEY.
FIELD_ENCRYPTION_KEY = env_str("FIELD_ENCRYPTION_KEY", "")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "django.contrib.humanize",
    "django_htmx",
    "template_partials",
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
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the page, not the cookie
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

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
SYNC_PAGE_SIZE = env_int("SYNC_PAGE_SIZE", 25, minimum=1)
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
UNDO_WINDOW_S = env_int("UNDO_WINDOW_S", 10, minimum=0)
ACTIVITY_MAX_AGE_S = env_int("ACTIVITY_MAX_AGE_S", 900, minimum=0)
# Every hour the activity of each agent's ACTIVITY_TOP_N highest-scored contacts is refreshed (30-day series, trend).
ACTIVITY_TOP_N = env_int("ACTIVITY_TOP_N", 50, minimum=0)
CELERY_BEAT_SCHEDULE["refresh-top-activity"] = {"task": "contacts_app.tasks.refresh_top_activity", "schedule": 3600.0}
CELERY_BEAT_SCHEDULE["sync-newsfeeds"] = {"task": "newsfeeds_app.tasks.sync_all_newsfeeds", "schedule": float(SYNC_INTERVAL_S)}
CELERY_BEAT_SCHEDULE["sync-sharing"] = {"task": "sharing_app.tasks.sync_all_sharing", "schedule": float(SYNC_INTERVAL_S)}
CELERY_BEAT_SCHEDULE["outbox-sweep"] = {"task": "contacts_app.tasks.sweep_outbox", "schedule": float(OUTBOX_SWEEP_S)}
# The agent directory (whom a contact may be transferred to) is refreshed from Spark this often, and after a sync
# that finds it older than this.
DIRECTORY_REFRESH_S = env_int("DIRECTORY_REFRESH_S", 3600, minimum=60)
CELERY_BEAT_SCHEDULE["refresh-agent-directories"] = {"task": "contacts_app.tasks.refresh_agent_directories",
                                                     "schedule": float(DIRECTORY_REFRESH_S)}

CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL,
                      "KEY_PREFIX": env_str("CACHE_PREFIX", "crm")}}
