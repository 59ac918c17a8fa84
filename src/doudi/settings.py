"""Django settings. One file, driven by environment variables:

DATABASE_URL   PostgreSQL in production/CI (postgres://user@host:5432/db); SQLite (WAL) otherwise
DOUDI_SQLITE   the SQLite file when DATABASE_URL is not set (DOUDI_HOME/doudi.sqlite3 — where
               `doudi demo` builds the demo, so every command acts on it after the demo)
DOUDI_HOME     where the embedded database, secret key and collected static files live (./var)
DOUDI_TASKS    "immediate" runs background jobs inside the request (tests); otherwise they wait
               in the database for `doudi db_worker` (which `doudi serve` starts)
DOUDI_FEEDS_INBOX  where department files wait to be imported (DOUDI_HOME/inbox); the demo puts
               the synthetic district's feeds there
DOUDI_OUTBOX   where scheduled 推送名单 files are written for the departments (DOUDI_HOME/outbox)
DOUDI_DEBUG    "1" for development pages
DOUDI_API_DOCS "1" serves the API's schema and documentation page without login (the default
               only with DOUDI_DEBUG=1 and no DOUDI_HTTPS; the demo turns it on)
DOUDI_TRUSTED_PROXIES  the reverse proxies whose X-Forwarded-For names the client
DOUDI_ALLOWED_HOSTS  comma-separated host names
DOUDI_CACHE_URL  redis://host:port/db: the cache every server process shares (statistics of
               the month under way); unset, each process keeps its own in memory
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from doudi.core import clock

PACKAGE_DIR = Path(__file__).resolve().parent
HOME = Path(os.environ.get("DOUDI_HOME", Path.cwd() / "var")).resolve()


def _secret_key() -> str:
    if key := os.environ.get("DOUDI_SECRET_KEY"):
        return key
    HOME.mkdir(parents=True, exist_ok=True)
    path = HOME / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = os.environ.get("DOUDI_DEBUG") == "1"
ALLOWED_HOSTS = os.environ.get("DOUDI_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "django_tasks",
    "django_tasks_db",
    "doudi.areas",
    "doudi.accounts",
    "doudi.audit",
    "doudi.registry",
    "doudi.policy",
    "doudi.exchange",
    "doudi.casework",
    "doudi.benefits",
    "doudi.monitoring",
    "doudi.care",
    "doudi.reports",
    "doudi.community",
    "doudi.placenames",
    "doudi.platform_sync",
    "doudi.referrals",
    "doudi.golive",
    "doudi.ops",
    "doudi.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "doudi.web.security.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "doudi.audit.middleware.AuditContextMiddleware",
    "doudi.accounts.middleware.SessionPolicyMiddleware",
    "doudi.web.errors.ServiceErrorMiddleware",
]

ROOT_URLCONF = "doudi.urls"
WSGI_APPLICATION = "doudi.wsgi.application"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

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
                "doudi.web.context.navigation",
            ],
        },
    }
]


def _database() -> dict:
    url = os.environ.get("DATABASE_URL")
    if url:
        return dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True)
    HOME.mkdir(parents=True, exist_ok=True)
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("DOUDI_SQLITE", str(HOME / "doudi.sqlite3")),
        "OPTIONS": {
            # WAL lets the web server read while a job writes; IMMEDIATE avoids lock upgrades.
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        },
    }


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


# 身份鉴别 (等保 2.0 level 3): the password policy, lockout and session limits are settings a
# bureau may tighten through the environment; docs/security.md lists them.
DOUDI_PASSWORD_MIN_LENGTH = _env_int("DOUDI_PASSWORD_MIN_LENGTH", 10)
DOUDI_PASSWORD_MIN_CLASSES = _env_int("DOUDI_PASSWORD_MIN_CLASSES", 3)  # of 大写/小写/数字/符号
DOUDI_PASSWORD_HISTORY = _env_int("DOUDI_PASSWORD_HISTORY", 5)  # last N may not be reused
DOUDI_PASSWORD_MAX_AGE_DAYS = _env_int("DOUDI_PASSWORD_MAX_AGE_DAYS", 90)  # 0: never expires
DOUDI_LOCKOUT_FAILURES = _env_int("DOUDI_LOCKOUT_FAILURES", 5)
DOUDI_LOCKOUT_MINUTES = _env_int("DOUDI_LOCKOUT_MINUTES", 30)
DOUDI_LOGIN_RATE_PER_MINUTE = _env_int("DOUDI_LOGIN_RATE_PER_MINUTE", 20)  # per client address
# the month under way's statistics (统计分析, the home page's counts) are recounted at most this
# often per area; closed months are frozen snapshots (reports.snapshots). 0: count every visit
DOUDI_STATISTICS_CACHE_SECONDS = _env_int("DOUDI_STATISTICS_CACHE_SECONDS", 300)


def cache_settings(url: str) -> dict:
    """Django's CACHES: Redis when DOUDI_CACHE_URL names one (shared by every server process
    and the worker), else memory per process (one `doudi serve` process: the embedded set-up)."""
    if url.startswith(("redis://", "rediss://", "unix://")):
        return {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                            "LOCATION": url, "KEY_PREFIX": "doudi"}}
    if url:
        raise ImproperlyConfigured(f"DOUDI_CACHE_URL 应为 redis://主机:端口/库号，而不是 {url!r}")
    return {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}


CACHES = cache_settings(os.environ.get("DOUDI_CACHE_URL", ""))
DOUDI_SESSION_IDLE_MINUTES = _env_int("DOUDI_SESSION_IDLE_MINUTES", 30)
# Roles that must use a second factor (TOTP), e.g. "district_approver,sysadmin"; any user may
# turn it on for themselves.
DOUDI_TOTP_ROLES = frozenset(r for r in os.environ.get("DOUDI_TOTP_ROLES", "").split(",") if r)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "doudi.accounts.passwords.LengthValidator",
     "OPTIONS": {"min_length": DOUDI_PASSWORD_MIN_LENGTH}},
    {"NAME": "doudi.accounts.passwords.CharacterClassesValidator",
     "OPTIONS": {"min_classes": DOUDI_PASSWORD_MIN_CLASSES}},
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "doudi.accounts.passwords.HistoryValidator",
     "OPTIONS": {"history": DOUDI_PASSWORD_HISTORY}},
]

LANGUAGE_CODE = "zh-hans"
TIME_ZONE = clock.TIME_ZONE  # the bureau's day: doudi.core.clock.today()
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = HOME / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Serve straight from the installed package when static files were not collected (demo, tests).
WHITENOISE_USE_FINDERS = True

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = 8 * 3600  # absolute limit; the idle limit is DOUDI_SESSION_IDLE_MINUTES
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Behind TLS (a reverse proxy terminating HTTPS): DOUDI_HTTPS=1 makes cookies secure-only,
# sends HSTS and trusts the proxy's X-Forwarded-Proto.
if os.environ.get("DOUDI_HTTPS") == "1":
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = 31_536_000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True


def _api_docs_default() -> bool:
    """The API's schema (/api/openapi.json) and documentation page (/api/docs) answer without
    login, so they describe the whole API to anyone who can reach the server: shown by default
    only on a development machine (DOUDI_DEBUG=1 without DOUDI_HTTPS=1); a production server
    (DEBUG off, or behind TLS) hides them unless DOUDI_API_DOCS=1. The demo turns them on."""
    explicit = os.environ.get("DOUDI_API_DOCS")
    if explicit is not None:
        return explicit == "1"
    return os.environ.get("DOUDI_DEBUG") == "1" and os.environ.get("DOUDI_HTTPS") != "1"


DOUDI_API_DOCS = _api_docs_default()

# The reverse proxies (comma-separated addresses or networks, e.g. "10.0.0.5,10.1.0.0/24")
# whose X-Forwarded-For names the client: rate limits, the login history and the audit log
# take the client's address from it only when the request comes from one of them
# (doudi.accounts.client_address). Empty: REMOTE_ADDR is the client.
DOUDI_TRUSTED_PROXIES = os.environ.get("DOUDI_TRUSTED_PROXIES", "")


for _proxy in DOUDI_TRUSTED_PROXIES.split(","):  # a mistyped address stops the start
    if _proxy.strip():
        ipaddress.ip_network(_proxy.strip(), strict=False)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}

DOUDI_PAGE_SIZE = 20
FEEDS_INBOX = Path(os.environ.get("DOUDI_FEEDS_INBOX", HOME / "inbox")).resolve()
# Imported department data (batches as Parquet, error reports, uploads waiting for a worker).
EXCHANGE_DIR = Path(os.environ.get("DOUDI_EXCHANGE_DIR", HOME / "exchange")).resolve()
# 推送名单 files written on a schedule (`doudi outbound produce`), one folder per department.
OUTBOX_DIR = Path(os.environ.get("DOUDI_OUTBOX", HOME / "outbox")).resolve()
# Applications' photos and documents, stored by SHA-256.
ATTACHMENTS_DIR = Path(os.environ.get("DOUDI_ATTACHMENTS_DIR", HOME / "attachments")).resolve()
DOUDI_ATTACHMENT_MAX_BYTES = int(os.environ.get("DOUDI_ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024))
DOUDI_UPLOAD_MAX_BYTES = int(os.environ.get("DOUDI_UPLOAD_MAX_BYTES", 200 * 1024 * 1024))
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

TASKS = {
    "default": {
        "BACKEND": ("django_tasks.backends.immediate.ImmediateBackend"
                    if os.environ.get("DOUDI_TASKS") == "immediate"
                    else "django_tasks_db.DatabaseBackend"),
    }
}

# The areas the deployment serves to the public 网上申请 form: a county's code, or several
# area-code prefixes separated by commas. Only their villages are offered and accepted.
DOUDI_PUBLIC_AREA = os.environ.get("DOUDI_PUBLIC_AREA", "341002")

# 申请进度查询 (/case-status/, no login): lookups per client address per minute, wrong ID tails
# per application number before its look-ups pause for an hour, how long a matched look-up
# stays open (minutes), and the documents one application may receive from it per day.
DOUDI_CASE_STATUS_RATE_PER_MINUTE = _env_int("DOUDI_CASE_STATUS_RATE_PER_MINUTE", 10)
DOUDI_CASE_STATUS_FAILURES = _env_int("DOUDI_CASE_STATUS_FAILURES", 5)
DOUDI_CASE_STATUS_MINUTES = _env_int("DOUDI_CASE_STATUS_MINUTES", 15)
DOUDI_CASE_STATUS_UPLOADS_PER_DAY = _env_int("DOUDI_CASE_STATUS_UPLOADS_PER_DAY", 10)

# Department API calls per token per minute (rate limit).
DOUDI_API_RATE_PER_MINUTE = int(os.environ.get("DOUDI_API_RATE_PER_MINUTE", 60))
