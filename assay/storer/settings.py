"""Storer settings: everything an administrator sets comes from ASSAY_* environment variables,
read through strict helpers that fail loudly on a bad value (docs/deploy.md lists them)."""

from __future__ import annotations

import os
import secrets
import sys
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from assay.storer.sso.conf import sso_settings


def env_str(name: str, default: str = "") -> str:
    value = os.environ.get(name)
    if value is None:
        file = os.environ.get(name + "_FILE")  # secrets may come from a file
        if file:
            return Path(file).read_text().strip()
        return default
    return value


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off", ""):
        return False
    raise ImproperlyConfigured(f"Unexpected value {name}={value!r}, use 'true' or 'false'")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(
            f"Unexpected value {name}={value!r}, use a whole number"
        ) from None


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None:
        return default
    return [v.strip() for v in value.split(",") if v.strip()]


if "ASSAY_DATA_DIR" not in os.environ and "pytest" in sys.modules:
    # the test suite never touches a real data directory
    os.environ["ASSAY_DATA_DIR"] = tempfile.mkdtemp(prefix="assay-test-data-")
DATA_DIR = Path(env_str("ASSAY_DATA_DIR", "var")).resolve()
DATA_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)


def make_private(path: Path, mode: int) -> None:
    """deployment (issue 9): the data directory (secret key, database, files) is 0700 and the
    SQLite database 0600, also when an older version made them with the umask's mode."""
    if path.exists() and path.stat().st_uid == os.getuid():
        path.chmod(mode)


make_private(DATA_DIR, 0o700)


def _secret_key() -> str:
    key = env_str("ASSAY_SECRET_KEY")
    if key:
        return key
    path = DATA_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env_bool("ASSAY_DEBUG", False)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "assay.storer.accounts",
    "assay.storer.courses",
    "assay.storer.evaluation",
    "assay.storer.feedback",
    "assay.storer.roster",
    "assay.storer.grading",
    "assay.storer.groups",
    "assay.storer.web",
    "assay.storer.authoring",
    "assay.storer.lti",
    "assay.storer.similarity",
]
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/login/"

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",  # static files from the app itself: no CDN, no web server needed
    "django.contrib.sessions.middleware.SessionMiddleware",
    "assay.storer.request_cache.RequestCacheMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

# deployment (issue 9): the URL the storer is served at decides the host names it answers to and
# whether it insists on HTTPS (HSTS, secure cookies, the redirect). `assay serve` and `assay demo`
# apply deployment_settings again with their --host, --port and --certfile (serve.py) unless
# ASSAY_SITE_URL is set. docs/deploy.md lists the variables; docs/security.md says why.
LOCAL_HOSTS = ["localhost", "127.0.0.1", "[::1]"]


def host_pattern(host: str) -> str:
    """A host name as ALLOWED_HOSTS matches it (IPv6 addresses in brackets)."""
    host = host.lower().strip("[]")
    return f"[{host}]" if ":" in host else host


def deployment_settings(site_url: str, served_as: list[str] | None = None) -> dict[str, object]:
    """The settings that follow from the public URL (and the host names the server listens
    as); the ASSAY_* variables named here override them."""
    parts = urlsplit(site_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ImproperlyConfigured(
            f"Unexpected value ASSAY_SITE_URL={site_url!r}, use http(s)://HOST[:PORT]"
        )
    https = env_bool("ASSAY_HTTPS", parts.scheme == "https")
    hosts = [host_pattern(parts.hostname), *LOCAL_HOSTS, *(served_as or [])]
    return {
        "SITE_URL": site_url,
        "ALLOWED_HOSTS": list(dict.fromkeys(hosts + env_list("ASSAY_ALLOWED_HOSTS", []))),
        "CSRF_TRUSTED_ORIGINS": [
            f"{parts.scheme}://{parts.netloc}",
            *env_list("ASSAY_CSRF_TRUSTED_ORIGINS", []),
        ],
        "SESSION_COOKIE_SECURE": https,
        "CSRF_COOKIE_SECURE": https,
        "SECURE_SSL_REDIRECT": env_bool("ASSAY_SSL_REDIRECT", https),
        "SECURE_HSTS_SECONDS": env_int("ASSAY_HSTS_SECONDS", 365 * 24 * 3600) if https else 0,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": env_bool("ASSAY_HSTS_INCLUDE_SUBDOMAINS", True),
        "SECURE_HSTS_PRELOAD": env_bool("ASSAY_HSTS_PRELOAD", False),
    }


# SITE_URL, ALLOWED_HOSTS, CSRF_TRUSTED_ORIGINS, SESSION_COOKIE_SECURE, CSRF_COOKIE_SECURE,
# SECURE_SSL_REDIRECT and SECURE_HSTS_*
globals().update(deployment_settings(env_str("ASSAY_SITE_URL", "http://127.0.0.1:8000")))
# HSTS preloading is for the owner of the whole domain to ask for (hstspreload.org), not a default
SILENCED_SYSTEM_CHECKS = ["security.W021"]
# testers authenticate with a token the request has already carried: a redirect would protect
# nothing, and it would stop local testers that talk plain HTTP behind a TLS proxy
SECURE_REDIRECT_EXEMPT = [r"^api/tester/"]
# a form without its token gets the 403 page in the site's layout, saying to reload
CSRF_FAILURE_VIEW = "assay.storer.web.errors.csrf_failure"
# behind reverse proxies: the client address is taken from X-Forwarded-For (counted from the
# right) and HTTPS from X-Forwarded-Proto, which the proxy must set (not pass on)
PROXY_COUNT = env_int("ASSAY_PROXY_COUNT", 0)
if PROXY_COUNT > 0:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# every response: scripts and styles only from the storer's own static files (the middleware
# comes first, so that responses of the other middleware get the header too)
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
MIDDLEWARE.insert(0, "assay.storer.security.ContentSecurityPolicyMiddleware")
INSTALLED_APPS.append("ninja")  # /api/docs from the storer's static files: no CDN, no inline script

# login (issue 9): failed logins are limited per account and per address (django-axes): after
# ASSAY_LOGIN_FAILURE_LIMIT failures on one account, or ASSAY_LOGIN_ADDRESS_FAILURE_LIMIT from one
# address, within ASSAY_LOGIN_COOLOFF_MIN minutes, logins are refused with 429 and a page saying
# when to try again, until that many minutes after the last failure (assay/storer/security.py)
INSTALLED_APPS.append("axes")
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesBackend",  # first: refuses a locked-out login before checking it
    # Django's ModelBackend, with a session's user read by one raw SELECT (a session made
    # with Django's own ModelBackend before this changed asks to log in again)
    "assay.storer.accounts.sessions.UserBackend",
]
# Django's database sessions, read by one raw SELECT
SESSION_ENGINE = "assay.storer.accounts.sessions"
MIDDLEWARE.append("axes.middleware.AxesMiddleware")  # last, as axes requires
# a course's pages in its time zone (web/timezones.py); each request starts in TIME_ZONE
MIDDLEWARE.insert(
    MIDDLEWARE.index("axes.middleware.AxesMiddleware"),
    "assay.storer.web.timezones.TimeZoneMiddleware",
)
AXES_HANDLER = "assay.storer.security.LoginLimits"
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # each on its own, not the pair
AXES_FAILURE_LIMIT = env_int("ASSAY_LOGIN_FAILURE_LIMIT", 5)
LOGIN_ADDRESS_FAILURE_LIMIT = env_int("ASSAY_LOGIN_ADDRESS_FAILURE_LIMIT", 30)
_cool_off_min = env_int("ASSAY_LOGIN_COOLOFF_MIN", 15)
for _name, _value in (
    ("ASSAY_LOGIN_FAILURE_LIMIT", AXES_FAILURE_LIMIT),
    ("ASSAY_LOGIN_ADDRESS_FAILURE_LIMIT", LOGIN_ADDRESS_FAILURE_LIMIT),
    ("ASSAY_LOGIN_COOLOFF_MIN", _cool_off_min),
):
    if _value < 1:
        raise ImproperlyConfigured(f"Unexpected value {_name}={_value}, use 1 or more")
AXES_COOLOFF_TIME = timedelta(minutes=_cool_off_min)
# trying again while locked out does not push the end of the lockout further away
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
# a success does not clear the address's failures (a student's own login would otherwise reset
# the count between guesses at other accounts)
AXES_RESET_ON_SUCCESS = False
AXES_LOCKOUT_CALLABLE = "assay.storer.security.lockout_response"
AXES_CLIENT_IP_CALLABLE = "assay.storer.security.client_address"
AXES_DISABLE_ACCESS_LOG = True  # failures are kept (for the cool-off); successes are not logged
AXES_VERBOSE = False

# single sign-on (issue 13): OpenID Connect (OIDC, None unless ASSAY_OIDC_ISSUER is set), LDAP
# (django-auth-ldap's AUTH_LDAP_*, when ASSAY_LDAP_SERVER_URI is set) and local passwords
# (ASSAY_LOCAL_LOGIN); docs/sso.md. A password is tried against the directory first, then
# against the local accounts; axes counts the failures of both.
INSTALLED_APPS.append("assay.storer.sso")
_sso = sso_settings(env_str, env_bool, env_int, env_list)
OIDC: dict[str, Any] | None = _sso.pop("OIDC")
LOCAL_PASSWORD_LOGIN: bool = _sso.pop("LOCAL_PASSWORD_LOGIN")
LDAP_ENABLED: bool = _sso.pop("LDAP_ENABLED")
globals().update(_sso)  # AUTH_LDAP_*
if LDAP_ENABLED:
    AUTHENTICATION_BACKENDS.insert(1, "assay.storer.sso.ldap.DirectoryBackend")

ROOT_URLCONF = "assay.storer.urls"
WSGI_APPLICATION = "assay.storer.wsgi.application"

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
                "assay.storer.web.context.nav",
            ],
            # {% url %} with its reversals remembered (docs/performance.md §14)
            "builtins": ["assay.storer.web.templatetags.assay_url"],
        },
    },
]

_default_db = f"sqlite:///{DATA_DIR / 'db.sqlite3'}"
DATABASES = {
    "default": dj_database_url.parse(env_str("ASSAY_DATABASE_URL", _default_db), conn_max_age=60)
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # persistent connections, one per web server thread (a fixed pool): opening one costs more
    # than most requests' queries (the file, the PRAGMAs of init_command, the functions Django
    # registers). Between requests a connection is in autocommit mode and holds no lock and no
    # read snapshot, so it keeps neither writers nor WAL checkpoints waiting; Django still closes
    # one after an error that leaves it unusable, and after CONN_MAX_AGE seconds.
    DATABASES["default"]["CONN_MAX_AGE"] = 600
    DATABASES["default"]["OPTIONS"] = {
        # several processes and threads write: wait for a lock instead of failing, take write
        # locks up front (no deadlocked upgrades), and let readers go on during a write
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # deployment (issue 9): the database file is created 0600 (its -wal and -shm files get the
    # same mode from SQLite) and an existing one is made 0600
    _db_file = Path(DATABASES["default"]["NAME"])
    if str(_db_file) not in ("", ":memory:") and _db_file.parent.is_dir():
        os.close(os.open(_db_file, os.O_CREAT | os.O_WRONLY, 0o600))
        for _path in (_db_file, Path(f"{_db_file}-wal"), Path(f"{_db_file}-shm")):
            make_private(_path, 0o600)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Django's default hashers (PBKDF2, about a second of cpu per hash here) unless named: e.g.
# django.contrib.auth.hashers.ScryptPasswordHasher; the test suite's servers take MD5 (their
# logins and demo users would otherwise cost minutes of cpu per run)
if "ASSAY_PASSWORD_HASHERS" in os.environ:
    PASSWORD_HASHERS = env_list("ASSAY_PASSWORD_HASHERS", [])
    if not PASSWORD_HASHERS:
        raise ImproperlyConfigured(
            "ASSAY_PASSWORD_HASHERS names no hasher; leave it unset for Django's"
        )
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
WHITENOISE_USE_FINDERS = (
    True  # serve straight from the apps' static/ folders (no collectstatic step)
)
MEDIA_ROOT = Path(env_str("ASSAY_FILES_DIR", str(DATA_DIR / "files")))
STORAGES: dict[str, dict[str, Any]] = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
STORAGE = env_str("ASSAY_STORAGE", "local")
if STORAGE == "s3":
    # S3-compatible object storage (AWS, MinIO, Ceph …) through django-storages
    S3_OPTIONS: dict[str, Any] = {
        "bucket_name": env_str("ASSAY_S3_BUCKET"),
        "endpoint_url": env_str("ASSAY_S3_ENDPOINT_URL") or None,
        "access_key": env_str("ASSAY_S3_ACCESS_KEY") or None,
        "secret_key": env_str("ASSAY_S3_SECRET_KEY") or None,
        "region_name": env_str("ASSAY_S3_REGION", "us-east-1"),
        "location": env_str("ASSAY_S3_PREFIX"),
        "default_acl": None,
        "querystring_auth": True,
        "file_overwrite": False,
    }
    if not S3_OPTIONS["bucket_name"]:
        raise ImproperlyConfigured("ASSAY_STORAGE=s3 needs ASSAY_S3_BUCKET")
    STORAGES["default"] = {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": S3_OPTIONS}
elif STORAGE != "local":
    raise ImproperlyConfigured(f"Unexpected value ASSAY_STORAGE={STORAGE!r}, use 'local' or 's3'")
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FILES = 200

# e-mail: failed evaluations go to the administrators (users with is_superuser and an address)
EMAIL_BACKEND = env_str("ASSAY_EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env_str("ASSAY_EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("ASSAY_EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("ASSAY_EMAIL_USER")
EMAIL_HOST_PASSWORD = env_str("ASSAY_EMAIL_PASSWORD")
EMAIL_USE_TLS = env_bool("ASSAY_EMAIL_TLS", False)
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = env_str("ASSAY_EMAIL_FROM", "assay@localhost")
# feedback: a student is e-mailed at most once per submission in this many minutes, however many
# comments the staff write (assay/storer/feedback/mail.py)
FEEDBACK_MAIL_INTERVAL_S = env_int("ASSAY_FEEDBACK_MAIL_INTERVAL_MIN", 10) * 60

# the broker (Celery): the embedded default keeps its queues in files, no server needed
BROKER_URL = env_str("ASSAY_BROKER_URL", f"filesystem://{DATA_DIR / 'broker'}")

# submissions
MAX_UPLOAD_FILES = env_int("ASSAY_MAX_UPLOAD_FILES", 50)
MAX_UPLOAD_FILE_BYTES = env_int("ASSAY_MAX_UPLOAD_FILE_KIB", 1024) * 1024
MAX_UPLOAD_TOTAL_BYTES = env_int("ASSAY_MAX_UPLOAD_TOTAL_KIB", 4096) * 1024
MAX_PACKAGE_BYTES = env_int("ASSAY_MAX_PACKAGE_MIB", 256) * 1024 * 1024
MAX_RESULT_BYTES = env_int("ASSAY_MAX_RESULT_MIB", 64) * 1024 * 1024
MAX_EVALUATION_ATTEMPTS = env_int("ASSAY_MAX_EVALUATION_ATTEMPTS", 3)
# a running job whose tester sent no heartbeat for this long gets a new attempt
HEARTBEAT_TIMEOUT_S = env_int("ASSAY_HEARTBEAT_TIMEOUT_S", 30)
# a job pushed to a course's spool tester over SSH (no heartbeats) gets a new attempt after this
SPOOL_TIMEOUT_S = env_int("ASSAY_SPOOL_TIMEOUT_S", 3600)
# a queued job nobody claimed for this long is sent to the broker again (a message may be lost)
REDISPATCH_AFTER_S = env_int("ASSAY_REDISPATCH_AFTER_S", 60)

# similarity runs (issue 13, docs/similarity.md): the processes one comparison uses
SIMILARITY_WORKERS = env_int("ASSAY_SIMILARITY_WORKERS", 1)

# uploads (issue 9): the largest request body of each kind of upload, refused with 413 from its
# Content-Length before anything is read, and counted as it streams in should it be longer
# (assay/storer/uploads.py). ASSAY_MAX_PACKAGE_MIB (above) is still read when set.
MAX_SUBMISSION_REQUEST_BYTES = env_int("ASSAY_MAX_SUBMISSION_KIB", 8 * 1024) * 1024
MAX_PACKAGE_BYTES = (
    env_int(
        "ASSAY_MAX_PACKAGE_KIB",
        MAX_PACKAGE_BYTES // 1024 if "ASSAY_MAX_PACKAGE_MIB" in os.environ else 64 * 1024,
    )
    * 1024
)
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1,
    "assay.storer.uploads.UploadLimitMiddleware",
)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("ASSAY_LOG_LEVEL", "WARNING")},
    "loggers": {"assay": {"level": env_str("ASSAY_LOG_LEVEL", "INFO"), "propagate": True}},
}

# LTI 1.3 (docs/lti.md): scores go back to the LMS in a background thread of the storer (and
# from its loop, which retries); the tests send them from the loop's function alone
LTI_SEND_IN_THREAD = env_bool("ASSAY_LTI_SEND_IN_THREAD", True)
# the LMS origins that may show assay's pages in an iframe (e.g. https://moodle.example.edu);
# empty: none may (the LMS opens assay in a new window). Framed pages need the session cookie
# in a third-party context: SameSite=None, which browsers take only over HTTPS.
LTI_FRAME_ANCESTORS = env_list("ASSAY_LTI_FRAME_ANCESTORS", [])
if LTI_FRAME_ANCESTORS:
    CONTENT_SECURITY_POLICY = CONTENT_SECURITY_POLICY.replace(
        "frame-ancestors 'none'", "frame-ancestors 'self' " + " ".join(LTI_FRAME_ANCESTORS)
    )
    MIDDLEWARE.remove("django.middleware.clickjacking.XFrameOptionsMiddleware")
    SESSION_COOKIE_SAMESITE = CSRF_COOKIE_SAMESITE = "None"
