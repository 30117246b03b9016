"""Settings for layersadmin, read from the environment (and an optional `.env` file).

Every variable is documented in `.env.example` and README's configuration table. The embedded
defaults (SQLite in the project folder, the local sandbox as the Layers API) are what
`make demo` runs on; production sets DEBUG off, which makes SECRET_KEY and
LAYERS_API_BASE_URL mandatory and turns on the security settings `check --deploy` asks for.
"""

from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A `.env` file fills in what the real environment does not set; it never overrides it.
if (BASE_DIR / ".env").is_file():
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)


def _required_in_production(name: str, *, debug_default: str) -> str:
    value = env.str(name, default="")
    if value:
        return value
    if DEBUG:
        return debug_default
    raise ImproperlyConfigured(
        f"{name} must be set when DEBUG is off (see .env.example and README's configuration)."
    )


SECRET_KEY = _required_in_production(
    "SECRET_KEY", debug_default="django-insecure-local-development-only"
)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "template_partials",
    "django_filters",
    "axes",
    "csp",
    # Background tasks (django.tasks backport); the database backend's table always exists, so
    # switching LAYERS_TASKS_BACKEND never needs a migration. RQ's apps are added below.
    "django_tasks",
    "django_tasks_db",
    "layersadmin",
    "projects",
    "creatives",
    "sync",
    "webhooks",
    "alerts",
    "digests",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "layersadmin.middleware.IdleSessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # django-csp's, adding the Layers API's origin (LAYERS_API_BASE_URL) for images and media.
    "layersadmin.middleware.LayersCSPMiddleware",
    # django-axes must be last: it turns a lockout raised during authentication into a page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "layersadmin.urls"
WSGI_APPLICATION = "layersadmin.wsgi.application"
ASGI_APPLICATION = "layersadmin.asgi.application"

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
                # The bell's unread count: one indexed COUNT, only when a page shows it.
                "alerts.context_processors.notifications",
            ],
        },
    }
]

# Database: the embedded default is a SQLite file in the project folder.
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE transactions take the write lock up front, so concurrent writers (a sync and an
    # override, two syncs) queue for it instead of failing half-way with "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"transaction_mode": "IMMEDIATE", "timeout": 30, "init_command": "PRAGMA journal_mode=WAL;"}
    )
    # Tests use a file, not memory, so other processes (a killed sync, gunicorn) can share it.
    DATABASES["default"].setdefault("TEST", {}).setdefault(
        "NAME", str(BASE_DIR / f"test-db-{os.getpid()}.sqlite3")
    )
else:
    # One test database per test process, so parallel runs on one server never collide.
    DATABASES["default"].setdefault("TEST", {}).setdefault(
        "NAME", f"test_{DATABASES['default']['NAME']}_{os.getpid()}"
    )
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {
    "default": env.cache("CACHE_URL", default="locmemcache://layersadmin"),
    # Rendered list rows ({% rowcache %}, layersadmin/templatetags/fragments.py): keyed by what
    # they show, so each process keeps its own (never shared, nothing to invalidate).
    "fragments": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "layersadmin-fragments",
        "OPTIONS": {"MAX_ENTRIES": 5000, "CULL_FREQUENCY": 4},
    },
}
FRAGMENT_CACHE_ALIAS = "fragments"
# How long a rendered row is kept (its relative times, "3 min ago", are at most this old);
# 0 renders every row every time.
FRAGMENT_CACHE_SECONDS = env.int("FRAGMENT_CACHE_SECONDS", default=60)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"

# Sessions end after SESSION_IDLE_SECONDS without a request: a request renews the session and
# its cookie when it was last renewed over a minute ago (layersadmin.middleware).
SESSION_COOKIE_AGE = env.int("SESSION_IDLE_SECONDS", default=8 * 3600)
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True  # htmx gets the token from the page (hx-headers), not the cookie.

# Login throttling (django-axes): lock a username+address pair after repeated failures.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False


def _axes_username(request, credentials) -> str | None:
    """The username django-axes records for a failed sign-in, cut to its column (255).

    Uncut, a longer username typed into the sign-in form made axes' INSERT fail on
    PostgreSQL ("value too long"): a 500 on the sign-in page for anyone.
    """
    value = (credentials or {}).get("username")
    if value is None and request is not None and hasattr(request, "POST"):
        value = request.POST.get("username")
    return None if value is None else str(value).replace("\x00", "")[:255]


AXES_USERNAME_CALLABLE = _axes_username

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": env.str(
            "STATICFILES_STORAGE",
            default="django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage",
        )
    },
}

# --- The Layers Partner API -------------------------------------------------------------------
LAYERS_API_BASE_URL = _required_in_production(
    "LAYERS_API_BASE_URL", debug_default="http://127.0.0.1:8001/v1"
).rstrip("/")
# Never logged, rendered or put in an exception; only the client reads it.
LAYERS_API_KEY = env.str("LAYERS_API_KEY", default="")
LAYERS_API_CONNECT_TIMEOUT = env.float("LAYERS_API_CONNECT_TIMEOUT", default=5.0)
LAYERS_API_READ_TIMEOUT = env.float("LAYERS_API_READ_TIMEOUT", default=30.0)
LAYERS_API_MAX_ATTEMPTS = env.int("LAYERS_API_MAX_ATTEMPTS", default=6)
# First retry waits up to this many seconds; each further one doubles it (full jitter, cap 20 s).
LAYERS_API_BACKOFF_BASE = env.float("LAYERS_API_BACKOFF_BASE", default=0.25)
# The key's rate tier, which the client paces at (REFERENCE 5): standard, pilot or partner;
# "unlimited" turns client pacing off (the local sandbox and the benchmark only). Empty: the
# tier /whoami reports (a client paces as standard until it has asked).
LAYERS_API_TIER = env.str("LAYERS_API_TIER", default="").strip().lower()
if LAYERS_API_TIER not in ("", "standard", "pilot", "partner", "unlimited"):
    raise ImproperlyConfigured(
        f"LAYERS_API_TIER must be standard, pilot, partner, unlimited or empty, "
        f"not {LAYERS_API_TIER!r} (see .env.example and README's configuration)."
    )
# Seconds a person's request may wait for the rate budget or a 429 before it answers "Layers
# is busy, try again in N s" (LayersBusy); pass it as max_wait= on interactive calls.
LAYERS_INTERACTIVE_MAX_WAIT = env.float("LAYERS_INTERACTIVE_MAX_WAIT", default=3.0)
# One rate budget per key, shared by every process (layersadmin.layers.budget): "auto" (Redis
# when CACHE_URL is a Redis, else the database), "redis", "database", or "local" (each process
# paces alone). The Redis is CACHE_URL's; no budget is consulted at tier "unlimited".
LAYERS_RATE_BUDGET = env.str("LAYERS_RATE_BUDGET", default="auto").strip().lower()
_cache_url = env.str("CACHE_URL", default="").strip()
_cache_is_redis = _cache_url.split("://", 1)[0].lower() in ("redis", "rediss")
LAYERS_RATE_BUDGET_REDIS_URL = _cache_url if _cache_is_redis else ""
if LAYERS_RATE_BUDGET not in ("auto", "redis", "database", "local"):
    raise ImproperlyConfigured(
        f"LAYERS_RATE_BUDGET must be auto, redis, database or local, not "
        f"{LAYERS_RATE_BUDGET!r} (see .env.example and README's configuration)."
    )
if LAYERS_RATE_BUDGET == "redis" and not _cache_is_redis:
    raise ImproperlyConfigured(
        "LAYERS_RATE_BUDGET=redis needs CACHE_URL to point at Redis (redis://host:6379/1)."
    )
# Leaderboards the sync keeps fresh for every project: "metric:window" pairs. Each costs one
# call per project per cadence: two keep 500 projects within their targets at the standard
# tier, three do not (bench/cadence_model.py). Any other board is read when someone looks.
LAYERS_LEADERBOARDS = env.list("LAYERS_LEADERBOARDS", default=["views:30d", "roas:30d"])
# A project whose last successful sync is older than this shows a red freshness badge.
LAYERS_STALE_AFTER_MINUTES = env.int("LAYERS_STALE_AFTER_MINUTES", default=90)
# Incremental content walks re-read containers created within this many days, so their
# approval changes arrive at the next run; older ones' arrive with the nightly --full.
LAYERS_CONTENT_REREAD_DAYS = env.int("LAYERS_CONTENT_REREAD_DAYS", default=7)
# How often the timer starts `sync_layers` (README: every minute). The default cadences are
# each kind's freshness target less two of these; a run with nothing due makes no call.
LAYERS_SYNC_EVERY_MINUTES = env.float("LAYERS_SYNC_EVERY_MINUTES", default=1.0)
# How often `sync_layers` (no arguments) reads each kind per project, in minutes ("kind=minutes"
# pairs: projects, containers, ads_content, leaderboards, ads_content_full). A kind not named is
# read every freshness target less two timer intervals (content 13, scored creatives and boards
# 58 minutes with the 1-minute timer); ads_content_full (the full walk) is daily.
LAYERS_CADENCE_MINUTES = {
    kind: float(minutes)
    for kind, _, minutes in (
        pair.partition("=") for pair in env.list("LAYERS_CADENCE_MINUTES", default=[]) if pair
    )
}
# Leaderboards beyond the configured ones are fetched when someone looks (creatives.demand);
# one nobody has looked at for this many days is evicted with its snapshots (the configured
# boards never are).
LAYERS_BOARD_DEMAND_DAYS = env.int("LAYERS_BOARD_DEMAND_DAYS", default=7)

# --- Alerts (alerts/services.py; README "Alerts") ------------------------------------------------
# Evaluated after each project's sync and every sync_layers run. The 4.0 gate is the API's.
# A creative entering the top N of a configured leaderboard (LAYERS_LEADERBOARDS).
LAYERS_ALERT_TOP_N = env.int("LAYERS_ALERT_TOP_N", default=10)
# A score drop of at least this many points since the baseline: the score this many days ago
# (or when first seen, for a younger creative).
LAYERS_ALERT_SCORE_DROP = env.float("LAYERS_ALERT_SCORE_DROP", default=1.0)
LAYERS_ALERT_SCORE_DROP_DAYS = env.int("LAYERS_ALERT_SCORE_DROP_DAYS", default=7)
# A project whose sync failed this many times in a row.
LAYERS_ALERT_SYNC_FAILURES = env.int("LAYERS_ALERT_SYNC_FAILURES", default=3)
# A project one of whose kinds is older than its freshness target (projects/freshness.py)
# plus this many minutes.
LAYERS_ALERT_STALE_GRACE_MINUTES = env.int("LAYERS_ALERT_STALE_GRACE_MINUTES", default=15)


# This site's address, for links in messages sent elsewhere (Slack, digest e-mails). Unset:
# http://127.0.0.1:8000 with DEBUG on; with DEBUG off https:// and the first named
# ALLOWED_HOSTS entry (a system check, digests.W001, warns when that is this machine).
def _site_url() -> str:
    value = env.str("SITE_URL", default="").strip().rstrip("/")
    if value or DEBUG:
        return value or "http://127.0.0.1:8000"
    named = [h for h in ALLOWED_HOSTS if h and h != "*" and not h.startswith(".")]
    return f"https://{named[0]}" if named else "http://127.0.0.1:8000"


SITE_URL = _site_url()

# --- E-mail (the digests: manage.py send_digests; README "Digests") --------------------------
# EMAIL_URL (smtp://user:password@host:25; smtp+tls:// STARTTLS, port 587 by default;
# smtp+ssl:// TLS from the start, 465; consolemail:// prints) or the EMAIL_HOST family.
# Neither: the console backend with DEBUG on (the demo prints e-mails, sends none), Django's
# SMTP to localhost:25 with DEBUG off. The password is never logged or rendered.
_email_url = env.str("EMAIL_URL", default="").strip()
if _email_url:
    _email = env.email_url_config(_email_url)  # an unknown scheme refuses to start
    EMAIL_BACKEND = _email["EMAIL_BACKEND"]
    EMAIL_USE_TLS = bool(_email.get("EMAIL_USE_TLS"))
    EMAIL_USE_SSL = bool(_email.get("EMAIL_USE_SSL"))
    EMAIL_HOST = _email.get("EMAIL_HOST") or "localhost"
    EMAIL_PORT = _email.get("EMAIL_PORT") or (
        465 if EMAIL_USE_SSL else 587 if EMAIL_USE_TLS else 25
    )
    EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER") or ""
    EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD") or ""
    if _email.get("EMAIL_FILE_PATH"):
        EMAIL_FILE_PATH = _email["EMAIL_FILE_PATH"]
elif env.str("EMAIL_HOST", default=""):
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = env.str("EMAIL_HOST")
    EMAIL_PORT = env.int("EMAIL_PORT", default=587)
    EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
    EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
    EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=True)
    EMAIL_USE_SSL = env.bool("EMAIL_USE_SSL", default=False)
elif DEBUG:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
# Seconds before an unresponsive mail server fails a send (it is retried by the next run).
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="layersadmin <noreply@localhost>")

# --- Background tasks (django-tasks, the backport of Django 6's django.tasks) ------------------
# Work a person or an event starts (admin's "Sync selected projects now", re-fetches) runs as a
# task on a worker, never inside a web request. LAYERS_TASKS_BACKEND picks where tasks go:
#   database   (default) rows in this database, run by `manage.py db_worker` (django-tasks-db)
#   rq         RQ on the Redis at LAYERS_TASKS_REDIS_URL, run by `manage.py rqworker
#              --job-class django_tasks_rq.Job default` (django-tasks-rq)
#   immediate  in the calling process, at once (tests, one-off scripts; no worker)
LAYERS_TASKS_BACKEND = env.str("LAYERS_TASKS_BACKEND", default="database").strip().lower()
LAYERS_TASKS_REDIS_URL = env.str("LAYERS_TASKS_REDIS_URL", default="redis://127.0.0.1:6379/2")
_TASK_BACKENDS = {
    "database": "django_tasks_db.DatabaseBackend",
    "rq": "django_tasks_rq.RQBackend",
    "immediate": "django_tasks.backends.immediate.ImmediateBackend",
}
if LAYERS_TASKS_BACKEND not in _TASK_BACKENDS:
    raise ImproperlyConfigured(
        f"LAYERS_TASKS_BACKEND must be database, rq or immediate, not {LAYERS_TASKS_BACKEND!r} "
        "(see .env.example and README's configuration)."
    )
TASKS = {"default": {"BACKEND": _TASK_BACKENDS[LAYERS_TASKS_BACKEND], "QUEUES": ["default"]}}
# django-rq's queues (read only by the rq backend and `rqworker`). A sync can run for long
# at the standard tier: RQ's default 180 s job timeout would kill it.
RQ_QUEUES = {"default": {"URL": LAYERS_TASKS_REDIS_URL, "DEFAULT_TIMEOUT": 6 * 3600}}
if LAYERS_TASKS_BACKEND == "rq":
    # Only then: django-rq's admin dashboard talks to Redis on every page.
    INSTALLED_APPS += ["django_rq", "django_tasks_rq"]

# --- Layers webhooks (the webhooks app, POST /webhooks/layers/; README "Webhooks") ----------
# The signing secret of the endpoint registered with Layers; during a rotation the old and the
# new one, comma-separated (a delivery signed with either is accepted). Empty: the endpoint
# answers 503 "not configured" (Layers retries a 5xx, so nothing sent meanwhile is lost).
LAYERS_WEBHOOK_SECRET = env.str("LAYERS_WEBHOOK_SECRET", default="")
# Deliveries accepted per client address, "count/period" (s, m, h, d), counted in the default
# cache: per process with the local-memory cache, shared when CACHE_URL is a Redis. More answer
# 429, which Layers retries.
LAYERS_WEBHOOK_RATE_LIMIT = env.str("LAYERS_WEBHOOK_RATE_LIMIT", default="600/m").strip()
if not re.fullmatch(r"[1-9][0-9]*/([1-9][0-9]*)?[smhd]", LAYERS_WEBHOOK_RATE_LIMIT):
    raise ImproperlyConfigured(
        f"LAYERS_WEBHOOK_RATE_LIMIT must look like 600/m (count/period: s, m, h or d), not "
        f"{LAYERS_WEBHOOK_RATE_LIMIT!r} (see .env.example and README's configuration)."
    )

# --- Security -----------------------------------------------------------------------------------
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
if not DEBUG:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
# Behind a TLS-terminating proxy: SECURE_PROXY_SSL_HEADER=HTTP_X_FORWARDED_PROTO,https
_proxy_header = env.list("SECURE_PROXY_SSL_HEADER", default=[])
if _proxy_header:
    if len(_proxy_header) != 2:
        raise ImproperlyConfigured(
            "SECURE_PROXY_SSL_HEADER must be 'HEADER,value', e.g. HTTP_X_FORWARDED_PROTO,https"
        )
    SECURE_PROXY_SSL_HEADER = (_proxy_header[0], _proxy_header[1])

# Content-Security-Policy (django-csp): no inline script or style anywhere; images may come
# from any HTTPS media host and from the Layers API's own host (the sandbox serves its
# previews over HTTP), which LayersCSPMiddleware adds from LAYERS_API_BASE_URL per response.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", "https:"],
        "media-src": ["'self'", "https:"],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# --- Logging ------------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.server": {"level": "WARNING"},
        "urllib3": {"level": "WARNING"},
    },
}
