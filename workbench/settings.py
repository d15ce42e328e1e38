"""Workbench settings: one module, configured from environment variables.

Every variable is listed in the README. Defaults are the safe ones: DEBUG off, no
allowed hosts, and no secret key (the app refuses to start without one unless DEBUG
is on, where a throwaway development key is used).
"""

import datetime as dt
import json
import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from django.utils.log import DEFAULT_LOGGING

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(
        f"{name} must be a boolean (1/0, true/false, yes/no, on/off), not {value!r}"
    )


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, not {value!r}") from None


def env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return float(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, not {value!r}") from None


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return list(default or [])
    return [item.strip() for item in value.split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)

# Sessions, CSRF tokens and password-reset links are signed with this key: a shared or
# guessable one lets anyone forge a session (Label Studio CVE-2023-43791). Without DEBUG
# the app refuses to start unless it is set, long and not a development key: at least 50
# characters and 5 distinct ones, Django's own bar (check --deploy, security.W009), so a key
# that would only warn there cannot start the app at all.
MIN_SECRET_KEY_LENGTH = 50
MIN_SECRET_KEY_UNIQUE_CHARACTERS = 5
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set SECRET_KEY to a long random string "
            "(python -c 'import secrets; print(secrets.token_urlsafe(50))'), or DEBUG=1 for development."
        )
    SECRET_KEY = "django-insecure-development-only-key-never-use-in-production"  # noqa: S105
elif not DEBUG and SECRET_KEY.startswith("django-insecure"):
    raise ImproperlyConfigured("SECRET_KEY is a django-insecure development key; set a real one.")
elif not DEBUG and (
    len(SECRET_KEY) < MIN_SECRET_KEY_LENGTH
    or len(set(SECRET_KEY)) < MIN_SECRET_KEY_UNIQUE_CHARACTERS
):
    raise ImproperlyConfigured(
        f"SECRET_KEY is too short or too repetitive ({len(SECRET_KEY)} characters, "
        f"{len(set(SECRET_KEY))} distinct; at least {MIN_SECRET_KEY_LENGTH} characters and "
        f"{MIN_SECRET_KEY_UNIQUE_CHARACTERS} distinct ones); "
        "python -c 'import secrets; print(secrets.token_urlsafe(50))' makes a good one."
    )

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])

# Where readers reach the public fact-check pages (/fact-checks/<slug>/...), e.g.
# https://factchecks.example.org: every ClaimReview `url` and the feeds' links are absolute
# URLs on this base. Empty: the base of the request that asks (fine for one host).
PUBLIC_BASE_URL = env_str("PUBLIC_BASE_URL").rstrip("/")
if PUBLIC_BASE_URL and not PUBLIC_BASE_URL.lower().startswith(("http://", "https://")):
    raise ImproperlyConfigured("PUBLIC_BASE_URL must be an absolute http(s) URL.")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    # API tokens, stored hashed (annotations.services.tokens); before annotations, whose
    # admin replaces knox's.
    "knox",
    "django_filters",
    # workbench comes before drf_spectacular so its template override (no inline style) wins.
    "workbench",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "axes",
    # The background worker's queue, in the database (django.tasks; `manage.py worker`).
    "django_tasks_db",
    "annotations",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files straight after SecurityMiddleware, so they get its headers too.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Before any view reads the body: JSON bodies are not covered by Django's own cap.
    "workbench.middleware.RequestSizeLimitMiddleware",
    # A NUL in any query parameter is a 400 (PostgreSQL cannot take it in a filter).
    "workbench.middleware.NulQueryMiddleware",
    # A form body whose bytes are not text (a lone surrogate) is a 400 naming the field,
    # as the API's JSON is, instead of being read as U+FFFD.
    "workbench.middleware.UndecodableFormMiddleware",
    "workbench.middleware.PrivateResponseMiddleware",
    # Under ASGI (bin/serve), streamed exports stay streamed (Django would buffer them).
    "workbench.middleware.AsyncStreamingMiddleware",
    # Last: turns a login locked out by django-axes into a 429 (see AXES_* below).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "workbench.urls"
WSGI_APPLICATION = "workbench.wsgi.application"
ASGI_APPLICATION = "workbench.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "workbench.ui.discussion.unread_count",
            ],
        },
    },
]

# The embedded default is a SQLite file under var/; DATABASE_URL=postgres://... picks
# PostgreSQL through psycopg 3. conn_health_checks lets a process recover by itself
# after the database restarts.
DEFAULT_SQLITE_PATH = BASE_DIR / "var" / "workbench.sqlite3"
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{DEFAULT_SQLITE_PATH}"),
        conn_max_age=env_int("CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    if not os.environ.get("DATABASE_URL"):
        DEFAULT_SQLITE_PATH.parent.mkdir(exist_ok=True)
    # Connections persist (CONN_MAX_AGE) as on PostgreSQL: opening one per request and
    # closing it again (which checkpoints the WAL) took ~40% of a span POST's server time
    # (bench/bench_peer.py, py-spy).
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A lost client must never pin a row lock or an open snapshot for long.
    statement_timeout_ms = env_int("DB_STATEMENT_TIMEOUT_MS", 30_000)
    idle_timeout_ms = env_int("DB_IDLE_IN_TRANSACTION_TIMEOUT_MS", 60_000)
    # JIT compilation off (DB_JIT=1 turns it back on): PostgreSQL compiles a statement
    # whose estimated cost passes jit_above_cost, and the app's big statements run once
    # per request, so the compile is paid every time: the agreement figures of a project
    # of a million verdicts spent 1.7 of their 10-11 s compiling, its project page 1-4 s
    # (bench/README.md, "Issue 20, round 17").
    jit = "on" if env_bool("DB_JIT", False) else "off"
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = (
        f"-c statement_timeout={statement_timeout_ms} "
        f"-c idle_in_transaction_session_timeout={idle_timeout_ms} "
        f"-c jit={jit}"
    )
    # A connection pool per process (psycopg_pool), at most DB_POOL_MAX connections; 0: none.
    # Under ASGI (bin/serve's uvicorn workers, which set it) each request runs its sync code
    # on a thread of its own (reused: up to 32 idle ones, workbench.handlers), so per-thread
    # persistent connections (CONN_MAX_AGE) would
    # pile up to "too many clients"; the pool hands each request and each live-update read
    # a connection and takes it back (CONN_MAX_AGE is then 0, as Django requires).
    # Server-side binding: each statement goes to PostgreSQL with its parameters apart
    # ($1, $2, ...), so its text is the same on every call, and psycopg prepares it on a
    # connection once it has run there DB_PREPARE_THRESHOLD times (2): PostgreSQL then
    # parses and plans it once per connection instead of on every request. Over HTTP
    # (bench/README.md, "Issue 20, round 9") span POSTs went from ~150 to ~190 req/s and
    # the time waiting on PostgreSQL per POST from 2.3 to 1.3 ms. DB_PREPARE_THRESHOLD=-1
    # binds on the server without preparing (a pooler in transaction mode that cannot
    # keep prepared statements); DB_SERVER_SIDE_BINDING=0 goes back to psycopg's
    # client-side binding (parameters merged into the statement's text).
    # The queue's pick is never prepared (annotations/dbcursor.py): a generic plan cannot
    # know a project's size, and one chosen for an average project sorted a big one's queue.
    if env_bool("DB_SERVER_SIDE_BINDING", True):
        from annotations.dbcursor import Cursor as WorkbenchCursor

        prepare_threshold = env_int("DB_PREPARE_THRESHOLD", 2)
        DATABASES["default"]["OPTIONS"]["cursor_factory"] = WorkbenchCursor
        DATABASES["default"]["OPTIONS"]["server_side_binding"] = True
        DATABASES["default"]["OPTIONS"]["prepare_threshold"] = (
            prepare_threshold if prepare_threshold >= 0 else None
        )
    # The pool checks a connection before it hands it out without a round trip while its
    # socket is quiet (workbench.dbpool; Django's default check sent an empty query for
    # every request).
    DB_POOL_MAX = env_int("DB_POOL_MAX", 0)
    if DB_POOL_MAX > 0:
        from workbench.dbpool import check_connection

        DATABASES["default"]["CONN_MAX_AGE"] = 0
        DATABASES["default"]["OPTIONS"]["pool"] = {
            "min_size": 1,
            "max_size": DB_POOL_MAX,
            "timeout": env_int("DB_POOL_TIMEOUT", 10),
            "check": check_connection,
        }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# bin/serve sets WORKBENCH_STATIC_MANIFEST=1 after collectstatic: WhiteNoise then serves
# compressed files with hashed names (cached forever). Without it (tests, ./wb demo) the
# plain storage is used and no collectstatic is needed.
STATIC_MANIFEST = env_bool("WORKBENCH_STATIC_MANIFEST", False)
# Archived copies of cited sources (WARC files, annotations.services.evidence): a folder
# (EVIDENCE_ROOT, var/evidence by default) never served at a URL; editors download a file
# through an authenticated view. EVIDENCE_STORAGE_BACKEND names another storage class (an
# S3-compatible store: "storages.backends.s3.S3Storage", with django-storages installed
# and its AWS_* / EVIDENCE_STORAGE_OPTIONS settings; see docs/deployment.md).
EVIDENCE_ROOT = Path(env_str("EVIDENCE_ROOT", str(BASE_DIR / "var" / "evidence")))
EVIDENCE_STORAGE_BACKEND = env_str(
    "EVIDENCE_STORAGE_BACKEND", "django.core.files.storage.FileSystemStorage"
)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "evidence": {
        "BACKEND": EVIDENCE_STORAGE_BACKEND,
        "OPTIONS": {"location": str(EVIDENCE_ROOT), "base_url": None}
        if EVIDENCE_STORAGE_BACKEND.endswith("FileSystemStorage")
        else json.loads(env_str("EVIDENCE_STORAGE_OPTIONS", "{}")),
    },
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if STATIC_MANIFEST
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# Without the manifest WhiteNoise finds files in the apps' static/ folders as they are
# (development speed, no collectstatic). There is no MEDIA_URL: user content is never
# served as a file from this origin.
WHITENOISE_USE_FINDERS = not STATIC_MANIFEST
WHITENOISE_AUTOREFRESH = not STATIC_MANIFEST

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"

# Accounts are created by an admin (admin panel or `manage.py createsuperuser`): there is
# no sign-up URL, so "authenticated" always means "invited" (Label Studio CVE-2022-36551).
# Login rate limiting (django-axes): after AXES_FAILURE_LIMIT failed logins for one
# username from one IP address, that pair is locked out for AXES_COOLOFF_MINUTES, on the
# login page, the admin and the API token endpoint alike (429). A successful login
# resets the count. Attempts are stored in the database, so the limit holds across
# processes and machines.
AUTHENTICATION_BACKENDS = [
    "workbench.middleware.LoginRateLimitBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_ENABLED = env_bool("AXES_ENABLED", True)
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = dt.timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_HTTP_RESPONSE_CODE = 429
# Spraying: failed logins from one client address across all usernames within the
# cool-off window; then that address is locked out like a username (0 turns it off).
AXES_HANDLER = "workbench.middleware.LoginRateLimitHandler"
LOGIN_FAILURES_PER_ADDRESS = env_int("LOGIN_FAILURES_PER_ADDRESS", 30)
# The token endpoint is also throttled per client address (per process; axes is the
# limit shared by all processes).
WORKBENCH_TOKEN_RATE = env_str("API_TOKEN_RATE", "30/minute")
AXES_SENSITIVE_PARAMETERS = ["password", "csrfmiddlewaretoken"]
# Behind a reverse proxy the client address is in X-Forwarded-For; count the proxies.
AXES_IPWARE_PROXY_COUNT = (
    env_int("AXES_PROXY_COUNT", 1 if env_bool("BEHIND_TLS_PROXY") else 0) or None
)
AXES_IPWARE_META_PRECEDENCE_ORDER = (
    ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"] if AXES_IPWARE_PROXY_COUNT else ["REMOTE_ADDR"]
)
# The N-th address from the right of X-Forwarded-For (what the proxies appended), else
# REMOTE_ADDR; the token endpoint's throttle reads it the same way (NUM_PROXIES below).
AXES_CLIENT_IP_CALLABLE = "workbench.middleware.client_address"


def env_token_ttl_days(name: str, default: int) -> int:
    """Days an API token lives: unset is ``default``; empty or 0 is no expiry."""
    value = os.environ.get(name)
    if value is None:
        return default
    if value.strip() == "":
        return 0
    days = env_int(name, default)
    # Ten years at most: a far larger number overflowed the expiry date (a 500 on every
    # token exchange, found by the outside probe); "never" is 0.
    if not 0 <= days <= 3650:
        raise ImproperlyConfigured(
            f"{name} must be 0 (no expiry) or a number of days up to 3650, not {value!r}"
        )
    return days


# API tokens (django-rest-knox, annotations.services.tokens): each password exchange or
# token-page click makes a new token, stored as a SHA-512 digest, living this many days
# (0: until revoked). A password change or "sign out everywhere" revokes them all.
API_TOKEN_TTL_DAYS = env_token_ttl_days("API_TOKEN_TTL_DAYS", 90)

# Request limits: a document body is capped separately (WORKBENCH_MAX_DOCUMENT_CHARS).
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 12 * 1024 * 1024)
DATA_UPLOAD_MAX_NUMBER_FIELDS = 2000
# Every request body, JSON included (workbench.middleware.RequestSizeLimitMiddleware, 413);
# 0 means DATA_UPLOAD_MAX_MEMORY_SIZE for JSON and form bodies, plus 1 MiB for multipart.
WORKBENCH_MAX_REQUEST_BYTES = env_int("WORKBENCH_MAX_REQUEST_BYTES", 0)
WORKBENCH_MAX_DOCUMENT_CHARS = env_int("WORKBENCH_MAX_DOCUMENT_CHARS", 5_000_000)
# Fetching URLs (import by URL, a source's title): public http(s) addresses only. Hosts
# named here may resolve to loopback/private addresses (an intranet wiki, a test server).
WORKBENCH_FETCH_ALLOWED_HOSTS = env_list("WORKBENCH_FETCH_ALLOWED_HOSTS")
WORKBENCH_FETCH_TIMEOUT = env_int("WORKBENCH_FETCH_TIMEOUT", 10)
WORKBENCH_FETCH_MAX_BYTES = env_int("WORKBENCH_FETCH_MAX_BYTES", 5 * 1024 * 1024)
# Background tasks (Django's tasks framework): the queue is a table of the database, so
# SQLite (the demo) and PostgreSQL both work without another server. `bin/worker` (and
# `./wb demo`) runs `manage.py worker`, which runs them; any number of workers may run.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}


# Check-worthiness suggestions (annotations.services.suggestions): the built-in model is
# read from TRIAGE_MODEL_PATH when that file exists (`manage.py train_triage` writes it),
# else from the shipped fixtures/triage/model.npz. The reader and the API list the best
# TRIAGE_TOP_N open sentences; a project's HTTP provider gets TRIAGE_HTTP_TIMEOUT seconds.
TRIAGE_MODEL_PATH = Path(
    env_str("TRIAGE_MODEL_PATH", str(BASE_DIR / "var" / "triage" / "model.npz"))
)
TRIAGE_SHIPPED_MODEL_PATH = BASE_DIR / "fixtures" / "triage" / "model.npz"
# An uncompressed copy of the language-detection model (py3langid's ships xz-compressed,
# ~1 s to load in each new worker), written by the first process that needs the model
# and memory-mapped by the others (annotations.core.language.use_model_cache); empty:
# no copy, every worker decompresses the shipped model.
LANGUAGE_MODEL_CACHE = env_str("LANGUAGE_MODEL_CACHE", str(BASE_DIR / "var" / "langid"))
TRIAGE_TOP_N = env_int("TRIAGE_TOP_N", 10)
TRIAGE_HTTP_TIMEOUT = env_float("TRIAGE_HTTP_TIMEOUT", 10.0)
if not (TRIAGE_TOP_N >= 1 and TRIAGE_HTTP_TIMEOUT > 0):
    raise ImproperlyConfigured("TRIAGE_TOP_N must be at least 1, TRIAGE_HTTP_TIMEOUT above 0.")

# Webhooks (annotations.services.webhooks): a delivery's request gets WEBHOOK_TIMEOUT
# seconds; a retried one waits WEBHOOK_RETRY_BASE_SECONDS * 2**(n-1), at most
# WEBHOOK_RETRY_MAX_SECONDS, for at most WEBHOOK_MAX_ATTEMPTS attempts. Endpoint URLs follow
# the fetcher's address rules (WORKBENCH_FETCH_ALLOWED_HOSTS). Every WEBHOOK_SWEEP_SECONDS a
# worker re-queues deliveries due for WEBHOOK_SWEEP_GRACE_SECONDS whose task was lost (a
# worker killed mid-send, a crash between commit and enqueue).
# The link-rot watch (annotations.services.evidence): each cited source with an archived
# snapshot is fetched again every SOURCE_CHECK_INTERVAL_HOURS (0: never, only
# `manage.py check_sources`); the worker's sweep queues the checks that are due.
SOURCE_CHECK_INTERVAL_HOURS = env_float("SOURCE_CHECK_INTERVAL_HOURS", 24.0)
if SOURCE_CHECK_INTERVAL_HOURS < 0:
    raise ImproperlyConfigured("SOURCE_CHECK_INTERVAL_HOURS must be 0 or more.")
WEBHOOK_TIMEOUT = env_float("WEBHOOK_TIMEOUT", 10.0)
WEBHOOK_RETRY_BASE_SECONDS = env_float("WEBHOOK_RETRY_BASE_SECONDS", 60.0)
WEBHOOK_RETRY_MAX_SECONDS = env_float("WEBHOOK_RETRY_MAX_SECONDS", 6 * 60 * 60.0)
WEBHOOK_MAX_ATTEMPTS = env_int("WEBHOOK_MAX_ATTEMPTS", 10)
WEBHOOK_SWEEP_SECONDS = env_float("WEBHOOK_SWEEP_SECONDS", 60.0)
WEBHOOK_SWEEP_GRACE_SECONDS = env_float("WEBHOOK_SWEEP_GRACE_SECONDS", 120.0)
if not (WEBHOOK_TIMEOUT > 0 and WEBHOOK_SWEEP_SECONDS > 0 and WEBHOOK_MAX_ATTEMPTS >= 1):
    raise ImproperlyConfigured(
        "WEBHOOK_TIMEOUT and WEBHOOK_SWEEP_SECONDS must be above 0, WEBHOOK_MAX_ATTEMPTS at least 1."
    )

# Notifications (issue 18, annotations.services.notifications): the worker's sweep tells a
# reviewer their lease expires within LEASE_WARNING_MINUTES (0: never). E-mail, for members
# who turn it on in their notification settings, goes through Django's default mailer: SMTP
# to SMTP_HOST:SMTP_PORT (SMTP_USERNAME, SMTP_PASSWORD, SMTP_USE_TLS) when SMTP_HOST is set;
# else, with DEBUG on (the demo), printed on the console; else none (in-app only). From
# DEFAULT_FROM_EMAIL.
LEASE_WARNING_MINUTES = env_float("LEASE_WARNING_MINUTES", 5.0)
if LEASE_WARNING_MINUTES < 0:
    raise ImproperlyConfigured("LEASE_WARNING_MINUTES must be 0 or more.")
SMTP_HOST = env_str("SMTP_HOST")
# Without either, MAILERS stays undefined (not empty: Django warns about an empty one).
if SMTP_HOST:
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": SMTP_HOST,
                "port": env_int("SMTP_PORT", 587),
                "username": env_str("SMTP_USERNAME"),
                "password": env_str("SMTP_PASSWORD"),
                "use_tls": env_bool("SMTP_USE_TLS", True),
                "timeout": 10,
            },
        }
    }
elif DEBUG:
    MAILERS = {"default": {"BACKEND": "django.core.mail.backends.console.EmailBackend"}}
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "workbench@localhost")

# Finding claims (issue 17, annotations.selectors.matching): MATCHING_SEMANTIC off runs the
# matcher lexical only (no WordLlama embeddings; it also falls back to that when the package
# cannot be loaded). A sentence of an imported document becomes a "repeat claim" suggestion
# when it and its best match are at least MATCHING_REPEAT_THRESHOLD alike (0-1: the mean of
# their character n-gram and embedding cosines, core.matching.MatchIndex.similarity).
MATCHING_SEMANTIC = env_bool("MATCHING_SEMANTIC", True)
MATCHING_REPEAT_THRESHOLD = env_float("MATCHING_REPEAT_THRESHOLD", 0.7)
MATCHING_RERANKER = BASE_DIR / "fixtures" / "matching" / "reranker.json"
# On: each server process builds the matching indexes of projects with references in a
# background thread when it starts (workbench/asgi.py, wsgi.py). Off (the default): a
# process builds a project's index at that project's first search, so a worker that never
# searches never loads numpy/scipy/scikit-learn (~100 MB) nor holds an index (issue 20).
MATCHING_WARM_UP = env_bool("MATCHING_WARM_UP", False)

# Live updates (workbench/live.py, README "Live updates"): LIVE_STREAM off answers the
# event stream with 204, so browsers poll GET .../live/changes/ instead. A stream ends after
# LIVE_STREAM_SECONDS (the browser reconnects where it left off), sends a comment every
# LIVE_HEARTBEAT_SECONDS, and reads the feed every LIVE_POLL_SECONDS when no PostgreSQL
# LISTEN wakes it (SQLite, WSGI servers, LIVE_LISTEN off).
LIVE_STREAM = env_bool("LIVE_STREAM", True)
# Under a WSGI server a stream holds a whole worker (or thread) for LIVE_STREAM_SECONDS, so
# it is answered with 204 (browsers poll) unless asked for: on by default only with DEBUG
# (``./wb demo``'s threaded runserver); ASGI servers always stream.
LIVE_STREAM_WSGI = env_bool("LIVE_STREAM_WSGI", DEBUG)
LIVE_LISTEN = env_bool("LIVE_LISTEN", True)
LIVE_STREAM_SECONDS = env_int("LIVE_STREAM_SECONDS", 300)
LIVE_HEARTBEAT_SECONDS = env_int("LIVE_HEARTBEAT_SECONDS", 15)
LIVE_POLL_SECONDS = env_float("LIVE_POLL_SECONDS", 1.0)

# How long the first answer to a POST sent with an Idempotency-Key is kept for a repeat
# (annotations.services.idempotency); expired keys are purged lazily or by
# `manage.py purge_idempotency_keys`.
IDEMPOTENCY_KEY_TTL_HOURS = env_int("IDEMPOTENCY_KEY_TTL_HOURS", 24)

# Security headers. CSP is enforced (not report-only) and allows no inline script or style.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 12 * 60 * 60)
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
if env_bool("BEHIND_TLS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first, so an anonymous API call gets 401 with WWW-Authenticate: Token.
        # Hashed knox tokens, "Authorization: Token <key>" (annotations.api.authentication).
        "annotations.api.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "EXCEPTION_HANDLER": "annotations.api.exceptions.exception_handler",
    # Filters from a fixed vocabulary (what a list takes: annotations.api.query).
    "DEFAULT_FILTER_BACKENDS": ["annotations.api.filters.StrictFilterBackend"],
    # DRF's JSON renderer; an answer quoting a lone surrogate is escaped, not a 500.
    "DEFAULT_RENDERER_CLASSES": ["annotations.api.renderers.SurrogateSafeJSONRenderer"],
    # JSON only, nesting bounded (a deep body is a 400, not a RecursionError).
    "DEFAULT_PARSER_CLASSES": ["annotations.api.parsers.BoundedJSONParser"],
    # ?format= names an export format (json, claimreview, webannotation, jsonl), not a renderer.
    "URL_FORMAT_OVERRIDE": None,
    # Deny by default: every view needs an authenticated, active user unless it opts out
    # (only the token endpoint does); views add role checks through the selectors.
    "DEFAULT_PERMISSION_CLASSES": [
        "annotations.api.permissions.IsActiveUser",
        "annotations.api.permissions.NoNulInQuery",
        # A query parameter the view does not take, or one given twice, is a 400 naming it.
        "annotations.api.query.KnownQueryParams",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "annotations.api.pagination.IdCursorPagination",
    "PAGE_SIZE": 50,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # The token throttle's client address: REMOTE_ADDR, or the N-th from the right of
    # X-Forwarded-For behind N proxies (as workbench.middleware.client_address); without
    # it DRF would key on the whole header a client can write.
    "NUM_PROXIES": AXES_IPWARE_PROXY_COUNT or 0,
}

# Knox's own views and admin are not used (annotations.api.views.auth, the token page and
# annotations.services.tokens make and revoke tokens, with their expiry and events); these
# keep its defaults in line with ours all the same.
REST_KNOX = {
    "AUTH_HEADER_PREFIX": "Token",
    "AUTH_TOKEN_CHARACTER_LENGTH": 64,
    "TOKEN_PREFIX": "",
    "TOKEN_TTL": dt.timedelta(days=API_TOKEN_TTL_DAYS) if API_TOKEN_TTL_DAYS else None,
    "AUTO_REFRESH": False,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Workbench API",
    "DESCRIPTION": "Fact-checking annotation workbench: documents, span claims, blind review queue, consensus, exports.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema and the docs page describe every endpoint: members only.
    "SERVE_PERMISSIONS": ["annotations.api.permissions.IsActiveUser"],
    # One name for the webhook event types (the endpoint's list, a delivery, its filter).
    "ENUM_NAME_OVERRIDES": {
        "WebhookEventTypeEnum": "annotations.core.webhooks.EVENT_TYPES",
        "TriageAgentEnum": ["builtin", "http"],
        "MatchKindEnum": "annotations.selectors.matching.KINDS",
        "SnapshotOutcomeEnum": "annotations.models.SnapshotOutcome",
        "ClaimantKindEnum": "annotations.models.ClaimantKind",
        # Citations and the evidence policy's allowed stances share one enum.
        "StanceEnum": "annotations.models.Stance",
        "NotificationKindEnum": "annotations.models.NotificationKind",
    },
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # The default hook, then the OpenAPI links between operations (annotations.api.openapi_links).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "annotations.api.openapi_links.add_links",
    ],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "one_line_warning": {"()": "workbench.logs.OneLineWarning"},
        "one_line_forbidden": {"()": "workbench.logs.OneLineForbidden"},
    },
    "formatters": {"django.server": DEFAULT_LOGGING["formatters"]["django.server"]},
    "handlers": {
        "console": {"class": "logging.StreamHandler"},
        "django.server": DEFAULT_LOGGING["handlers"]["django.server"],
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "WARNING")},
    "loggers": {
        # Django's own configuration (DEFAULT_LOGGING, applied first) gives "django" a
        # console handler of its own while DEBUG is on, on top of the root's: with DEBUG=1
        # every record of django.* (a 403, a 500) was written twice. Here django.* has the
        # root's handler only; its level stays Django's (INFO). Naming "django" resets its
        # children, so runserver's request lines ("django.server") are declared again as
        # Django declares them. (Django's "mail_admins" went with it: ADMINS is not set.)
        "django": {"handlers": []},
        "django.server": {"handlers": ["django.server"], "level": "INFO", "propagate": False},
        # A 403 (PermissionDenied on a page): one WARNING line, "Forbidden (Permission
        # denied): /path", without the traceback Django 6.1 attaches (workbench.logs).
        "django.request": {"filters": ["one_line_forbidden"]},
        # A Host header not in ALLOWED_HOSTS: the 400 stays, the log gets one line naming
        # the host instead of Django's ERROR with a full traceback (workbench.logs).
        "django.security.DisallowedHost": {"filters": ["one_line_warning"]},
    },
}
