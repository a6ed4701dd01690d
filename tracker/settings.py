"""Settings. Every deploy-specific value comes from the environment; see .env.example for the list.

DJANGO_ENV=local (the default) runs on embedded defaults: SQLite under var/, tasks in-process, DEBUG on.
DJANGO_ENV=production turns DEBUG off, requires a secret key and allowed hosts, and turns on the HTTPS
protections that `manage.py check --deploy` asks for.
"""

import os
from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.templatetags.static import static

from tracker.navigation import sidebar_navigation

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DJANGO_ENV = env("DJANGO_ENV", default="local")
if DJANGO_ENV not in ("local", "production"):
    raise ImproperlyConfigured("DJANGO_ENV must be 'local' or 'production'.")
PRODUCTION = DJANGO_ENV == "production"

DEBUG = env.bool("DJANGO_DEBUG", default=not PRODUCTION)
SECRET_KEY = env("DJANGO_SECRET_KEY", default="")
if not SECRET_KEY:
    if PRODUCTION:
        raise ImproperlyConfigured("Set DJANGO_SECRET_KEY: production never runs on a built-in key.")
    SECRET_KEY = "local-only-insecure-key-" + "x" * 40  # noqa: S105
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=[] if PRODUCTION else ["127.0.0.1", "localhost", "[::1]"])
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("Set DJANGO_ALLOWED_HOSTS, e.g. tracker.example.org.")
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
# Reverse proxies in front of the app, each appending to X-Forwarded-For; 0 when clients connect directly, since
# any other value lets a client choose the address that allow-lists, the audit log and lockouts see.
PROXY_COUNT = env.int("PROXY_COUNT", default=0)

INSTALLED_APPS = [
    # The admin's theme (django-unfold): before django.contrib.admin so that its templates win.
    "unfold",
    "unfold.contrib.filters",
    "unfold.contrib.forms",
    "unfold.contrib.simple_history",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "simple_history",
    "axes",
    "django_celery_beat",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "partners",
    "campaigns",
    "detection",
    "reports",
    "tracker",  # the project's own commands (bootstrap drives every app)
]

MIDDLEWARE = [
    "tracker.middleware.ServerTimingMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "partners.api.middleware.RefusalThrottleMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "tracker.urls"
WSGI_APPLICATION = "tracker.wsgi.application"

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
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'tracker.sqlite3'}")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # Write-ahead logging: pages keep reading while the workspace's worker writes an import or a run.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {
    "default": env.cache("CACHE_URL", default="locmemcache://")
    if env("CACHE_URL", default="")
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
}

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# The admin is the researchers' workspace: a login without a "next" lands there, not on /accounts/profile/.
LOGIN_URL = "admin:login"
LOGIN_REDIRECT_URL = "admin:index"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Lock an account from one address after repeated failed logins from it: failures for one account never lock
# another, and failures from one address never lock the account elsewhere. The address is the API's.
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_CLIENT_IP_CALLABLE = "partners.addresses.client_address"
AXES_RESET_ON_SUCCESS = True

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# Front-end libraries come from npm (package.json, pinned; `make` runs npm ci) and are served from node_modules.
NODE_MODULES = Path(env("NODE_MODULES", default=str(BASE_DIR / "node_modules")))
STATICFILES_DIRS = [
    ("vendor/cytoscape", NODE_MODULES / "cytoscape" / "dist"),
    # The fCoSE layout and the two libraries it is built on, each a UMD file at its package's root.
    *((f"vendor/{name}", NODE_MODULES / name) for name in ("layout-base", "cose-base", "cytoscape-fcose")),
]
STATIC_ROOT = Path(env("STATIC_ROOT", default=str(VAR_DIR / "staticfiles")))
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env("MEDIA_ROOT", default=str(VAR_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# Where scoring runs keep their working files (runs/<run id>/, deleted when the run ends): an alias in STORAGES.
# Every worker must see the same files: by default MEDIA_ROOT, which must then be one shared directory (README,
# "Running workers on several machines").
SCORING_RUN_STORAGE = env("SCORING_RUN_STORAGE", default="default")

# A compressed sample that inflates past this many bytes is refused whole.
SAMPLE_MAX_INFLATED_BYTES = env.int("SAMPLE_MAX_INFLATED_BYTES", default=8 * 1024**3)
# ... and one is refused as soon as it has inflated past this many times the compressed bytes read so far (past
# its first 8 MiB). Real samples inflate 2.5 to 4.6 times; a gzip bomb of repeated rows 300, of newlines 1,000.
SAMPLE_MAX_INFLATION_RATIO = env.float("SAMPLE_MAX_INFLATION_RATIO", default=100.0)
# A scoring run that would build more co-action pairs (post pairs on one object within the window, summed over
# its behaviours) is refused before it builds any. A pair costs a worker up to 1.2 KB (min_weight=1, every pair
# its own stored edge), about 0.2 KB on a dense day of 1M posts (8M pairs at the 60 s window): 10M, 12 GB at worst.
SCORING_MAX_PAIRS = env.int("SCORING_MAX_PAIRS", default=10_000_000)
# A scoring run whose reduce (the one step whose memory grows with the whole sample) would need more memory than
# this, in MB, is refused too: detection.engine.budget estimates it from the posts and the pairs. 0 (the default):
# 80% of the memory of the machine that checks (the web app's at the start, a worker's once the pairs are counted).
SCORING_MAX_REDUCE_MB = env.int("SCORING_MAX_REDUCE_MB", default=0) or int(
    0.8 * os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**20
)
# The classifier of groups (detection.learning): where its model files live (every worker must see them), and how
# many new verdicts since the current model make the hourly task retrain it.
CLASSIFIER_MODEL_DIR = Path(env("CLASSIFIER_MODEL_DIR", default=str(VAR_DIR / "classifier")))
CLASSIFIER_RETRAIN_MIN_VERDICTS = env.int("CLASSIFIER_RETRAIN_MIN_VERDICTS", default=10)
# Prepare parts of a run, each reading its own range of the sample's posts (0: one per shard).
SCORING_PREPARE_PARTS = env.int("SCORING_PREPARE_PARTS", default=0)
# A sample file at least this large is parsed in a child process, beside the one writing to the database.
SAMPLE_IMPORT_CHILD_PROCESS_BYTES = env.int("SAMPLE_IMPORT_CHILD_PROCESS_BYTES", default=2 * 1024**2)

SHARED_DATA_DIR = Path(env("SHARED_DATA", default=str(BASE_DIR.parent / "shared" / "data")))

# HTTPS protections: on in production, off for the embedded local run.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if PRODUCTION else None
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=PRODUCTION)
SESSION_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_SECURE = PRODUCTION
SESSION_COOKIE_HTTPONLY = True
SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=31_536_000 if PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = PRODUCTION
SECURE_HSTS_PRELOAD = PRODUCTION
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="tracker@localhost")

# Celery. With no broker, tasks run in-process, so the product works with nothing else installed.
BROKER_URL = env("CELERY_BROKER_URL", default="")
BROKER_IS_REDIS = BROKER_URL.startswith(("redis://", "rediss://"))
CELERY_BROKER_URL = BROKER_URL or "memory://localhost/"
# Results go to the broker when it is Redis; with RabbitMQ, back to the caller (rpc) unless a backend is named.
RESULT_BACKEND_URL = "rpc://" if BROKER_URL and not BROKER_IS_REDIS else BROKER_URL
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default=RESULT_BACKEND_URL) or None
CELERY_TASK_ALWAYS_EAGER = not BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
# The queue every task goes to and every worker takes from: one broker can serve several deployments.
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_QUEUE", default="celery")
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
# A task is acknowledged only once done, and handed back if its worker dies; one task at a time per process.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_VISIBILITY_TIMEOUT = env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)
# RabbitMQ hands back the tasks of a dead worker as soon as its connection drops; Redis only after the visibility
# timeout, found by a sweep every CELERY_RESTORE_INTERVAL seconds (kombu's default sweep is ten times slower).
if BROKER_IS_REDIS:
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": CELERY_VISIBILITY_TIMEOUT,
        "unacked_restore_interval": env.int("CELERY_RESTORE_INTERVAL", default=10),
        "unacked_restore_throttle": 1,
    }
# `manage.py workspace` on embedded defaults: a broker of files that its worker, beat and web server share.
if BROKER_URL.startswith("filesystem://"):
    BROKER_FOLDER = Path(env("CELERY_BROKER_FOLDER", default=str(VAR_DIR / "broker")))
    for _folder in ("queue", "control"):
        (BROKER_FOLDER / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_FOLDER / "queue"),
        "data_folder_out": str(BROKER_FOLDER / "queue"),
        "control_folder": str(BROKER_FOLDER / "control"),
        "store_processed": False,
    }
    CELERY_RESULT_BACKEND = None
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT}
# Hard limit below the visibility timeout, so a stuck task dies before Redis hands it to another worker.
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=int(CELERY_VISIBILITY_TIMEOUT * 0.9))
CELERY_TASK_SOFT_TIME_LIMIT = CELERY_TASK_TIME_LIMIT - 30
CELERY_RESULT_EXPIRES = timedelta(days=1)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Every periodic task is declared here; beat keeps each one as a row under Periodic tasks in the admin.
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Written over their rows by beat at each start.
CELERY_BEAT_SCHEDULE = {
    "score-runs-watchdog": {"task": "detection.tasks.score_runs_watchdog", "schedule": 30.0},
    "classifier-retrain": {"task": "detection.tasks.classifier_retrain", "schedule": 3600.0},
}
# Created when missing (by the reports' migration and after every migrate), then left as researchers edit or
# disable them in the admin. Crontabs in UTC.
REPORT_BEAT_SCHEDULES = [
    {
        "name": "Weekly election threat reports",
        "task": "reports.build_weekly_election_reports",
        "crontab": {"minute": "0", "hour": "6", "day_of_week": "1", "day_of_month": "*", "month_of_year": "*"},
        "kwargs": {"audiences": ["GREEN", "AMBER"]},
        "description": "Mondays 06:00 UTC: the past week's report of each election in its campaign or counting phase.",
    },
    {
        "name": "Monthly global threat report",
        "task": "reports.build_monthly_global_report",
        "crontab": {"minute": "0", "hour": "6", "day_of_week": "*", "day_of_month": "1", "month_of_year": "*"},
        "kwargs": {"audiences": ["GREEN", "AMBER"]},
        "description": "The 1st of each month, 06:00 UTC: the global report of the previous month.",
    },
]
# A worker on a scoring step renews its lease every quarter of this; a step whose lease runs out (or, on
# PostgreSQL, whose worker's session is gone) is handed to another worker by the watchdog.
SCORING_LEASE_SECONDS = env.int("SCORING_LEASE_SECONDS", default=120)

# The researcher's workspace: the admin themed by django-unfold, its home the dashboard (tracker/dashboard.py).
UNFOLD = {
    "SITE_TITLE": "Interference tracker",
    "SITE_HEADER": "Election-interference tracker",
    "SITE_SUBHEADER": "Catalogue and findings",
    # No public site: "View site" would lead back here. The account menu links the partner API instead.
    "SITE_URL": None,
    "SITE_SYMBOL": "policy",
    "SHOW_VIEW_ON_SITE": False,
    "SHOW_HISTORY": True,
    "SIDEBAR": {"show_search": True, "show_all_applications": True, "navigation": sidebar_navigation()},
    "DASHBOARD_CALLBACK": "tracker.dashboard.dashboard_callback",
    "STYLES": [lambda request: static("tracker/workspace.css")],
    "ACCOUNT": {
        "navigation": [
            {"title": "Partner API", "link": "/api/v1/"},
            {"title": "API documentation", "link": "/api/v1/docs/"},
        ]
    },
}

# Partner API (partners/api): keys in the Authorization header, JSON only, cursor pages, per-organisation rates.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "partners.api.authentication.KeyAuthentication",
        "partners.api.authentication.StaffSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["partners.api.permissions.HasPrincipal"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser", "rest_framework.parsers.MultiPartParser"],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "partners.api.pagination.CursorPages",
    "DEFAULT_THROTTLE_CLASSES": ["partners.api.throttling.OrganisationRateThrottle"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_METADATA_CLASS": None,
    "EXCEPTION_HANDLER": "partners.api.exceptions.error_handler",
    "UNAUTHENTICATED_USER": None,
}
PARTNER_API_RATE = env("PARTNER_API_RATE", default="1200/minute")  # per organisation (or person, or researcher)
PARTNER_API_ANONYMOUS_RATE = env("PARTNER_API_ANONYMOUS_RATE", default="60/minute")  # per address
# Refusals (401: a wrong, revoked or expired key, or none) per client address; past it, 429 before authentication.
PARTNER_API_REFUSAL_RATE = env("PARTNER_API_REFUSAL_RATE", default="20/minute")
PARTNER_API_UPLOAD_MAX_BYTES = env.int("PARTNER_API_UPLOAD_MAX_BYTES", default=2 * 1024**3)
SPECTACULAR_SETTINGS = {
    "TITLE": "Election-interference tracker: partner API",
    "DESCRIPTION": "Read the catalogue and your samples within your TLP 2.0 clearance; submit samples; "
    "export STIX 2.1. Authenticate with `Authorization: Bearer <key>`.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {"TlpEnum": "partners.markings.Tlp", "PlatformEnum": "campaigns.vocabularies.Platform"},
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    # Quieter third parties: axes' INFO lines, WeasyPrint's line per layout step of every PDF, fontTools' subsetting.
    "loggers": {"axes": {"level": "WARNING"}, "weasyprint": {"level": "WARNING"}, "fontTools": {"level": "WARNING"}},
}
