"""The one settings module. Everything that differs between machines comes from the
environment (or a `.env` file beside manage.py); the defaults give a single-machine
setup that needs no server: a SQLite file and a filesystem Celery broker under var/."""

import secrets
from pathlib import Path

import environ
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)


def _default_secret_key() -> str:
    """A random key kept in var/ so a fresh checkout works without configuration and
    no secret is ever committed. Production sets SECRET_KEY in the environment."""
    path = VAR_DIR / "secret_key"
    if not path.exists():
        VAR_DIR.mkdir(exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="") or _default_secret_key()
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_results",
    "simple_history",
    "import_export",
    # Ours, from the lowest to the highest (see architecture.md).
    "people",
    "accounts",
    "renewals",
    "playbooks",
    "health",
    "handover",
    "dashboards",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "people.middleware.UserTimezoneMiddleware",
    # Records who made each change kept in the audit history (django-simple-history).
    "simple_history.middleware.HistoryRequestMiddleware",
]

ROOT_URLCONF = "cs_platform.urls"
WSGI_APPLICATION = "cs_platform.wsgi.application"
ASGI_APPLICATION = "cs_platform.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "cs_platform.context_processors.platform",
            ],
        },
    },
]

# Database: DATABASE_URL, default a SQLite file in WAL mode so web and worker can share it.
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(exist_ok=True)
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
    )
    # A file, not memory, so a real worker process can read what a test wrote.
    # SQLITE_TEST_NAME lets several test runs share a checkout without sharing a file.
    DATABASES["default"]["TEST"] = {"NAME": env.str("SQLITE_TEST_NAME", default=str(VAR_DIR / "test_db.sqlite3"))}
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "people.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}

# Internationalisation: English and Simplified Chinese; times stored in UTC, shown in
# the user's zone (default Asia/Shanghai).
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="Asia/Shanghai")
USE_I18N = True
FORMAT_MODULE_PATH = ["cs_platform.formats"]
# The blank choice of list filters reads "All" instead of "---------".
FILTERS_EMPTY_CHOICE_LABEL = _("All")
USE_TZ = True
CURRENCY = env.str("CURRENCY", default="CNY")
# Tier from contract value: ARR at or above these amounts (in CURRENCY) makes an account
# strategic or key; below both it is standard.
ACCOUNT_TIER_THRESHOLDS = {
    "strategic": env.int("TIER_STRATEGIC_ARR", default=1_000_000),
    "key": env.int("TIER_KEY_ARR", default=200_000),
}
# django-import-export: imports run in a transaction, so a file with one bad row changes nothing.
IMPORT_EXPORT_USE_TRANSACTIONS = True
IMPORT_EXPORT_SKIP_ADMIN_LOG = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if not DEBUG and env.bool("STATIC_MANIFEST", default=True)
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
# Serve straight from the app folders when nobody ran collectstatic (make run, tests).
WHITENOISE_USE_FINDERS = env.bool("WHITENOISE_USE_FINDERS", default=DEBUG)

# Email: EMAIL_URL (smtp://user:pass@host:587/?tls=True), console by default.
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="cs-platform@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Where the platform is reached from outside: links in notification emails start here.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")
# A submitted handover not accepted or returned within this many business days
# (Monday to Friday) is flagged to the team's managers.
HANDOVER_REVIEW_DAYS = env.int("HANDOVER_REVIEW_DAYS", default=3)
# Kickoff scheduled this many business days after a handover is accepted, unless sales
# gave a date agreed with the customer.
KICKOFF_AFTER_DAYS = env.int("KICKOFF_AFTER_DAYS", default=5)
# Health: accounts whose new usage events change today's score (events of earlier days)
# are scored again this many seconds after the first batch, once for all batches in between.
HEALTH_DEBOUNCE_SECONDS = env.int("HEALTH_DEBOUNCE_SECONDS", default=60)
# Calibration with more observations (accounts x dates) than this runs as a Celery task.
CALIBRATE_SYNC_LIMIT = env.int("CALIBRATE_SYNC_LIMIT", default=50000)
# Early-warning alerts (health.alerts), evaluated after each day's scoring run:
# renewal_risk: an open renewal due within this many days, with the band red or yellow,
# the score down ALERT_TREND_POINTS or more over ALERT_HEALTH_DROP_DAYS, or the decision maker gone.
ALERT_RENEWAL_WINDOW_DAYS = env.int("ALERT_RENEWAL_WINDOW_DAYS", default=90)
ALERT_TREND_POINTS = env.int("ALERT_TREND_POINTS", default=10)
# health_drop: the score fell this many points or more within this many days.
ALERT_HEALTH_DROP_POINTS = env.int("ALERT_HEALTH_DROP_POINTS", default=15)
ALERT_HEALTH_DROP_DAYS = env.int("ALERT_HEALTH_DROP_DAYS", default=30)
# activation_overdue: not activated this many days after the first subscription started.
ALERT_ACTIVATION_DAYS = env.int("ALERT_ACTIVATION_DAYS", default=90)
# no_recent_touch: the tier's shortest touch cadence, or this many days for a tier without one.
ALERT_NO_TOUCH_DAYS = env.int("ALERT_NO_TOUCH_DAYS", default=60)
# payment_overdue: an invoice still unpaid this many days after it fell due (high after 60).
ALERT_PAYMENT_GRACE_DAYS = env.int("ALERT_PAYMENT_GRACE_DAYS", default=15)
# stakeholder_left: a decision maker, executive sponsor or champion left within this many days.
ALERT_STAKEHOLDER_LEFT_DAYS = env.int("ALERT_STAKEHOLDER_LEFT_DAYS", default=30)
# A manual health override lasts at most this many days; the CSM renews it if still right.
HEALTH_OVERRIDE_MAX_DAYS = env.int("HEALTH_OVERRIDE_MAX_DAYS", default=90)

# Security: strict unless DEBUG; each can be relaxed from the environment (e.g. a local
# docker compose on plain http).
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
X_FRAME_OPTIONS = "DENY"

# REST API (see api-contract.md).
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "cs_platform.api.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("API_THROTTLE_ANON", default="60/min"),
        "user": env.str("API_THROTTLE_USER", default="3000/min"),
    },
    "EXCEPTION_HANDLER": "cs_platform.api.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DATE_FORMAT": "%Y-%m-%d",
    "COERCE_DECIMAL_TO_STRING": True,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Customer Success Platform API",
    "DESCRIPTION": "The REST surface billing, CRM, telemetry and BI systems integrate with.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # One name for the health band wherever it appears (accounts, scores, filters).
    "ENUM_NAME_OVERRIDES": {"HealthBandEnum": "accounts.models.Account.HealthBand"},
}

# Celery: CELERY_BROKER_URL, default an embedded filesystem broker under var/broker.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "broker"
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="django-db")
CELERY_RESULT_EXTENDED = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TRACK_STARTED = True
# Results of tasks run in-process with .apply() are stored too, as a worker would store them.
CELERY_TASK_STORE_EAGER_RESULT = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# Product defaults later issues build on.
PLATFORM_NAME = _("Customer Success")
