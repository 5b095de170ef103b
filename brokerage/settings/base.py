"""Settings shared by every mode (local, test, production): each value comes from the
environment, with a working default wherever one is safe.

`.env.example` lists them all. With no environment at all the project uses the embedded
servers that `make run` starts from wheels (deploy/servers.py): PostgreSQL, Redis (cache
and Celery's broker) and the Kafka-wire broker, on loopback ports of their own.
"""

from decimal import Decimal
from pathlib import Path

import environ
from celery.schedules import crontab

BASE_DIR = Path(__file__).resolve().parents[2]
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# SECRET_KEY, DEBUG and ALLOWED_HOSTS: see local.py and production.py.
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_prometheus",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "brokerage",
    "brokerage.events",
    "brokerage.ledger",
    "users",
    "stocks",
    "orders",
    "notifications",
]

MIDDLEWARE = [
    "brokerage.logs.RequestIdMiddleware",  # first: every later line has the request id
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "brokerage.api.middleware.RequestGuardMiddleware",
    "brokerage.views.MetricsScrapeMiddleware",  # before the Host check (see the class)
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "brokerage.urls"
WSGI_APPLICATION = "brokerage.wsgi.application"
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- database -------------------------------------------------------------------------
# Unset URLs mean the embedded servers that `make run` starts (deploy/servers.py).
EMBEDDED_DATABASE_URL = "postgres://postgres@127.0.0.1:54329/brokerage"
EMBEDDED_REDIS_URL = "redis://127.0.0.1:63799/0"
EMBEDDED_KAFKA_BOOTSTRAP_SERVERS = "127.0.0.1:9092"

DATABASES = {"default": env.db_url("DATABASE_URL", default=EMBEDDED_DATABASE_URL)}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
# A health check is one more round trip per request; off, a connection broken by a
# database restart fails one request and is then replaced.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool("DB_CONN_HEALTH_CHECKS", default=False)
# Every connection (web, workers, migrate) is bounded: connecting, any one statement and
# any one wait for a row lock; the API answers 503 (1500) when one runs out. 0 = no limit.
DB_STATEMENT_TIMEOUT_MS = env.int("DB_STATEMENT_TIMEOUT_MS", default=15000)
DB_LOCK_TIMEOUT_MS = env.int("DB_LOCK_TIMEOUT_MS", default=5000)
DATABASES["default"]["OPTIONS"] = {
    "server_side_binding": env.bool("DB_SERVER_SIDE_BINDING", default=True),
    "connect_timeout": env.int("DB_CONNECT_TIMEOUT", default=5),  # seconds (libpq)
    "options": (
        f"-c statement_timeout={DB_STATEMENT_TIMEOUT_MS} -c lock_timeout={DB_LOCK_TIMEOUT_MS}"
    ),
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- cache ----------------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default=EMBEDDED_REDIS_URL)
CACHE_KEY_PREFIX = env.str("CACHE_KEY_PREFIX", default="brokerage")
# Redis down or slow: each cache call gives up after these seconds and answers "not
# cached" (IGNORE_EXCEPTIONS, logged), so requests go on from the database; throttles let
# requests through (brokerage.api.throttling).
REDIS_SOCKET_CONNECT_TIMEOUT = env.float("REDIS_SOCKET_CONNECT_TIMEOUT", default=0.5)
REDIS_SOCKET_TIMEOUT = env.float("REDIS_SOCKET_TIMEOUT", default=0.5)
CACHES = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": CACHE_KEY_PREFIX,
        "OPTIONS": {
            "CLIENT_CLASS": "django_redis.client.DefaultClient",
            "SOCKET_CONNECT_TIMEOUT": REDIS_SOCKET_CONNECT_TIMEOUT,
            "SOCKET_TIMEOUT": REDIS_SOCKET_TIMEOUT,
            "IGNORE_EXCEPTIONS": True,
        },
    }
}
DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True

# --- auth -----------------------------------------------------------------------------
AUTH_USER_MODEL = "users.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
PASSWORD_HASHERS = env.list(
    "PASSWORD_HASHERS", default=["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
)

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"  # collectstatic fills it (the image); make run creates it
# Swagger UI, ReDoc and admin assets are served by the app itself, no internet needed;
# here straight from the apps' folders, in production from the image's collected files.
WHITENOISE_USE_FINDERS = True

# A token's user is remembered this long per process (0: look it up on every request);
# revocation, deactivation and permission changes reach every process at once anyway.
AUTH_TOKEN_CACHE_SECONDS = env.float("AUTH_TOKEN_CACHE_SECONDS", default=10.0)
# API tokens are refused this many seconds after they were issued (0: never; production
# defaults to 30 days).
AUTH_TOKEN_TTL = env.int("AUTH_TOKEN_TTL", default=0)
# Stock quotes are cached this long (a price change invalidates them at once; house
# inventory in a quote may lag by up to this).
QUOTE_CACHE_SECONDS = env.int("QUOTE_CACHE_SECONDS", default=5)

# Bodies larger than this are refused with 413 before any view reads them.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("MAX_REQUEST_BODY_BYTES", default=64 * 1024)

# --- API ------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "users.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PARSER_CLASSES": [
        "brokerage.api.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "brokerage.api.pagination.NewestFirstCursorPagination",
    "PAGE_SIZE": env.int("API_PAGE_SIZE", default=50),
    "DEFAULT_SCHEMA_CLASS": "brokerage.api.schema.BrokerageAutoSchema",
    "EXCEPTION_HANDLER": "brokerage.api.errors.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["brokerage.api.throttling.AnonymousIPThrottle"],
    # X-Forwarded-For entries trusted to name the client: one per proxy in front.
    "NUM_PROXIES": env.int("NUM_PROXIES", default=0),
}


def _rate(name: str, default: str) -> str | None:
    value = env.str(name, default=default)
    return None if value.lower() == "none" else value


# brokerage.api.throttling; "none" disables one (load tests such as make bench do).
THROTTLE_RATES = {
    "signup": _rate("SIGNUP_THROTTLE_RATE", "30/minute"),
    "orders": _rate("ORDER_THROTTLE_RATE", "200/minute"),  # Alpaca's per-account limit
    "anon": _rate("ANON_THROTTLE_RATE", "600/minute"),
    "login": _rate("LOGIN_THROTTLE_RATE", "10/minute"),  # each attempt costs a PBKDF2 hash
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Brokerage Provider API",
    "DESCRIPTION": (
        "A simulated brokerage: accounts with cash and positions, market and limit "
        "orders executed against a dealer market. Authenticate with "
        "`Authorization: Token <key>` (sign-up returns the key)."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "OrderStatusEnum": "orders.models.OrderStatus",
        "OrderSideEnum": "orders.models.OrderSide",
        "OrderTypeEnum": "orders.models.OrderType",
        "TimeInForceEnum": "orders.models.TimeInForce",
        "UserTypeEnum": "users.models.UserType",
    },
    # brokerage.api.schema tags each operation by its path; these describe the tags.
    "TAGS": [
        {"name": "auth", "description": "Log in for an API token; log out."},
        {
            "name": "tokens",
            "description": "The caller's API tokens, one per client: list and revoke them.",
        },
        {
            "name": "accounts",
            "description": "Sign-up, and an account with its cash, positions and latest orders.",
        },
        {"name": "orders", "description": "Submit, list, read and cancel orders."},
        {"name": "positions", "description": "The caller's holdings at the last price."},
        {"name": "stocks", "description": "Listed stocks and their prices; staff list them."},
        {
            "name": "notifications",
            "description": "The caller's order notifications and their Telegram delivery.",
        },
        {
            "name": "activities",
            "description": "The account journal: every movement of cash and shares.",
        },
        {
            "name": "legacy",
            "description": "The original system's `orders:buy`, `orders:sell` and "
            "`orders:cancel`, kept for its clients.",
        },
        {"name": "health", "description": "Liveness and readiness probes."},
    ],
}

# --- Kafka ----------------------------------------------------------------------------
KAFKA_BOOTSTRAP_SERVERS = env.str(
    "KAFKA_BOOTSTRAP_SERVERS", default=EMBEDDED_KAFKA_BOOTSTRAP_SERVERS
)
KAFKA_TOPIC_ORDERS = env.str("KAFKA_TOPIC_ORDERS", default="orders")
KAFKA_TOPIC_PRICES = env.str("KAFKA_TOPIC_PRICES", default="prices")
KAFKA_PARTITIONS = env.int("KAFKA_PARTITIONS", default=4)
KAFKA_BRIDGE_GROUP = env.str("KAFKA_BRIDGE_GROUP", default="brokerage-bridge")
KAFKA_BRIDGE_BATCH_SIZE = env.int("KAFKA_BRIDGE_BATCH_SIZE", default=500)
# After a first message the bridge waits this long for more: batches, not a task each.
KAFKA_BRIDGE_LINGER_MS = env.float("KAFKA_BRIDGE_LINGER_MS", default=20.0)
# Orders the bridge hands to one execute_orders task (one transaction in the worker).
KAFKA_BRIDGE_TASK_BATCH_SIZE = env.int("KAFKA_BRIDGE_TASK_BATCH_SIZE", default=100)
# Backpressure: the bridge leaves events in Kafka while the workers' queues hold more
# tasks than this (0: off), so a backlog is handed over in large batches.
KAFKA_BRIDGE_MAX_QUEUED_TASKS = env.int("KAFKA_BRIDGE_MAX_QUEUED_TASKS", default=4)
KAFKA_LINGER_MS = env.int("KAFKA_LINGER_MS", default=2)
KAFKA_MESSAGE_TIMEOUT_MS = env.int("KAFKA_MESSAGE_TIMEOUT_MS", default=30000)
KAFKA_FLUSH_TIMEOUT_SECONDS = env.float("KAFKA_FLUSH_TIMEOUT_SECONDS", default=10.0)
# Without these, group joins take ~20 s and fetches add ~200 ms; fine for real Kafka too.
KAFKA_CONSUMER_OPTIONS = {
    "session.timeout.ms": env.int("KAFKA_SESSION_TIMEOUT_MS", default=6000),
    "heartbeat.interval.ms": env.int("KAFKA_HEARTBEAT_INTERVAL_MS", default=100),
    "fetch.wait.max.ms": env.int("KAFKA_FETCH_WAIT_MAX_MS", default=10),
    "fetch.queue.backoff.ms": env.int("KAFKA_FETCH_QUEUE_BACKOFF_MS", default=10),
}
# Touched by the bridge every few seconds while its loop runs (compose's health check
# reads its age); empty: none.
BRIDGE_HEARTBEAT_FILE = env.str("BRIDGE_HEARTBEAT_FILE", default="")
OUTBOX_RELAY_AFTER_SECONDS = env.float("OUTBOX_RELAY_AFTER_SECONDS", default=5.0)
OUTBOX_RELAY_INTERVAL_SECONDS = env.float("OUTBOX_RELAY_INTERVAL_SECONDS", default=5.0)
# Published outbox rows are deleted after this many days, by beat every
# OUTBOX_PURGE_INTERVAL_SECONDS; unpublished rows are kept until the relay delivers them.
OUTBOX_RETENTION_DAYS = env.float("OUTBOX_RETENTION_DAYS", default=7.0)
OUTBOX_PURGE_INTERVAL_SECONDS = env.float("OUTBOX_PURGE_INTERVAL_SECONDS", default=6 * 3600.0)

# --- Celery ---------------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {
    # A task whose worker died unacked comes back after this many seconds.
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=300),
    # How often a worker looks for such tasks (kombu's default is ~100 s).
    "unacked_restore_interval": env.float("CELERY_RESTORE_INTERVAL_SECONDS", default=30.0),
    "unacked_restore_throttle": 1,
}
if env.str("CELERY_KEY_PREFIX", default=""):
    CELERY_BROKER_TRANSPORT_OPTIONS["global_keyprefix"] = env.str("CELERY_KEY_PREFIX")
# Celery closes the database connection after every task unless told to reuse it, and a
# new PostgreSQL backend costs more than an order's execution; brokerage.celery checks
# connections before each task instead, as Django does per request.
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=1000)
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = env.int("CELERY_WORKER_PREFETCH_MULTIPLIER", default=4)
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True


def _time_limits(name: str, default: str) -> tuple[float, float]:
    soft, hard = (float(part) for part in env.str(name, default=default).split(","))
    return soft, hard


# Seconds (soft, hard) a task of each queue may run, unless its decorator says otherwise:
# at the soft limit the task's transaction rolls back and it is retried like a timeout;
# at the hard limit the worker process is replaced. The threads pool (the notifier)
# ignores both; Telegram's own timeouts bound it.
TASK_TIME_LIMITS = {
    "orders": _time_limits("ORDERS_TASK_TIME_LIMITS", "30,60"),
    "default": _time_limits("DEFAULT_TASK_TIME_LIMITS", "120,180"),
    "notifications": _time_limits("NOTIFICATIONS_TASK_TIME_LIMITS", "300,360"),
}
CELERY_TASK_ANNOTATIONS = ["brokerage.celery.QueueTimeLimits"]
# Beat, and the bot per token, hold a Redis lock with this time to live (0: none; else at
# least 1 s); a second one stands by and takes over within it after the first dies.
SINGLETON_LOCK_TTL_SECONDS = env.float("SINGLETON_LOCK_TTL_SECONDS", default=15)
CELERY_BEAT_SCHEDULER = "brokerage.celery:BeatScheduler"
# Where beat keeps when each schedule last ran: one file per beat (a standby has it open).
CELERY_BEAT_SCHEDULE_FILENAME = env.str(
    "CELERY_BEAT_SCHEDULE_FILENAME", default=str(VAR_DIR / "celerybeat-schedule")
)
ORDER_STUCK_AFTER_SECONDS = env.int("ORDER_STUCK_AFTER_SECONDS", default=30)
# An order whose execution fails this many times is rejected (2022) instead of retried.
ORDER_MAX_EXECUTION_ATTEMPTS = env.int("ORDER_MAX_EXECUTION_ATTEMPTS", default=3)
MARKET_SIMULATOR_ENABLED = env.bool("MARKET_SIMULATOR_ENABLED", default=False)
# How often beat proves every balance (orders.reconcile; brokerage_reconcile_differences).
RECONCILE_INTERVAL_SECONDS = env.float("RECONCILE_INTERVAL_SECONDS", default=3600.0)
MARKET_SIMULATOR_INTERVAL_SECONDS = env.float("MARKET_SIMULATOR_INTERVAL_SECONDS", default=5.0)
MARKET_SIMULATOR_VOLATILITY = Decimal(env.str("MARKET_SIMULATOR_VOLATILITY", default="0.01"))

# --- domain ---------------------------------------------------------------------------
DEFAULT_USER_BALANCE = Decimal(env.str("DEFAULT_USER_BALANCE", default="37000"))
DEFAULT_USER_STOCK_AMOUNT = Decimal(env.str("DEFAULT_USER_STOCK_AMOUNT", default="10"))
# Orders worth less than this (quantity x limit or last price) are refused with 422, 2021.
MIN_ORDER_NOTIONAL = Decimal(env.str("MIN_ORDER_NOTIONAL", default="0.01"))
MARKET_ORDER_COLLAR = Decimal(env.str("MARKET_ORDER_COLLAR", default="0.05"))
MARKET_CLOSE_TIME = env.str("MARKET_CLOSE_TIME", default="21:00")  # HH:MM in TIME_ZONE

_close_hour, _close_minute = (int(part) for part in MARKET_CLOSE_TIME.split(":"))
CELERY_BEAT_SCHEDULE = {
    "relay-outbox": {
        "task": "brokerage.relay_outbox",
        "schedule": OUTBOX_RELAY_INTERVAL_SECONDS,
    },
    "redispatch-stuck-orders": {
        "task": "orders.redispatch_stuck_orders",
        "schedule": float(max(ORDER_STUCK_AFTER_SECONDS // 2, 1)),
    },
    "purge-outbox": {
        "task": "brokerage.purge_outbox",
        "schedule": OUTBOX_PURGE_INTERVAL_SECONDS,
    },
    "expire-day-orders": {
        "task": "orders.expire_day_orders",
        "schedule": crontab(hour=_close_hour, minute=_close_minute),
    },
    "expire-overdue-day-orders": {  # the close's run was missed (beat down)
        "task": "orders.expire_day_orders",
        "schedule": 60.0,
    },
    "rematch-resting-orders": {
        "task": "orders.rematch_resting_orders",
        "schedule": float(max(ORDER_STUCK_AFTER_SECONDS // 2, 1)),
    },
    "redeliver-stalled-notifications": {
        "task": "notifications.redeliver_stalled_notifications",
        "schedule": float(max(ORDER_STUCK_AFTER_SECONDS // 2, 1)),
    },
    "record-missed-outcomes": {
        "task": "notifications.record_missed_outcomes",
        "schedule": float(max(ORDER_STUCK_AFTER_SECONDS // 2, 1)),
    },
    "reconcile": {
        "task": "orders.reconcile",
        "schedule": RECONCILE_INTERVAL_SECONDS,
    },
}
if MARKET_SIMULATOR_ENABLED:
    CELERY_BEAT_SCHEDULE["simulate-market"] = {
        "task": "stocks.simulate_market",
        "schedule": MARKET_SIMULATOR_INTERVAL_SECONDS,
    }
CELERY_TIMEZONE = TIME_ZONE

# --- Telegram -------------------------------------------------------------------------
TELEGRAM_BOT_TOKEN = env.str("TELEGRAM_BOT_TOKEN", default="")  # empty: notifications skipped
# The bot's @username, for the t.me deep links that link a customer's chat.
TELEGRAM_BOT_USERNAME = env.str("TELEGRAM_BOT_USERNAME", default="")
# A link code (POST /api/v1/users/{id}/telegram-link) works once, for this long.
TELEGRAM_LINK_CODE_SECONDS = env.int("TELEGRAM_LINK_CODE_SECONDS", default=600)
TELEGRAM_API_BASE_URL = env.str("TELEGRAM_API_BASE_URL", default="https://api.telegram.org")
TELEGRAM_TIMEOUT_SECONDS = env.float("TELEGRAM_TIMEOUT_SECONDS", default=10.0)
TELEGRAM_MAX_ATTEMPTS = env.int("TELEGRAM_MAX_ATTEMPTS", default=5)
# Notifications still pending this long after they were recorded, with no live claim,
# are queued again by beat (a lost delivery task).
NOTIFICATION_STALL_SECONDS = env.int("NOTIFICATION_STALL_SECONDS", default=300)
# Outcome events published this long before the stall above and still unrecorded (lost
# by the broker or with a task) are handed to the notifier again by beat.
OUTCOME_RECOVERY_WINDOW_SECONDS = env.int("OUTCOME_RECOVERY_WINDOW_SECONDS", default=3600)

# --- observability --------------------------------------------------------------------
OTEL_EXPORTER_OTLP_ENDPOINT = env.str("OTEL_EXPORTER_OTLP_ENDPOINT", default="")
METRICS_PORT = env.int("METRICS_PORT", default=0)  # bridge/worker metrics; 0 = off
# Web's /metrics answers only `Authorization: Bearer <METRICS_TOKEN>`, anything else 404.
# Unset: open here (make run, the suite); production.py closes it instead.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_OPEN_WITHOUT_TOKEN = True

# --- logging --------------------------------------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
# `console`: readable lines (make run); `json`: one object per line (production.py's
# default). Both carry request_id, user_id, order_id, trace_id, span_id (brokerage.logs).
LOG_FORMAT = env.str("LOG_FORMAT", default="console")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "console": {"()": "brokerage.logs.Console"},
        "json": {"()": "brokerage.logs.Json"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # httpx logs each request's URL at INFO, and a Bot API URL holds the bot token.
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
    },
}
