"""Storer settings: everything an administrator sets comes from ASSAY_* environment variables,
read through strict helpers that fail loudly on a bad value (docs/deploy.md lists them)."""

from __future__ import annotations

import os
import secrets
import sys
import tempfile
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured


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
DATA_DIR.mkdir(parents=True, exist_ok=True)


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
ALLOWED_HOSTS = env_list("ASSAY_ALLOWED_HOSTS", ["*"])
CSRF_TRUSTED_ORIGINS = env_list("ASSAY_CSRF_TRUSTED_ORIGINS", [])
SITE_URL = env_str("ASSAY_SITE_URL", "http://127.0.0.1:8000")

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
    "assay.storer.web",
]
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/login/"

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",  # static files from the app itself: no CDN, no web server needed
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

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
        },
    },
]

_default_db = f"sqlite:///{DATA_DIR / 'db.sqlite3'}"
DATABASES = {
    "default": dj_database_url.parse(env_str("ASSAY_DATABASE_URL", _default_db), conn_max_age=60)
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        # several processes and threads write: wait for a lock instead of failing, take write
        # locks up front (no deadlocked upgrades), and let readers go on during a write
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
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
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
STORAGE = env_str("ASSAY_STORAGE", "local")
if STORAGE == "s3":
    # S3-compatible object storage (AWS, MinIO, Ceph …) through django-storages
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env_str("ASSAY_S3_BUCKET"),
            "endpoint_url": env_str("ASSAY_S3_ENDPOINT_URL") or None,
            "access_key": env_str("ASSAY_S3_ACCESS_KEY") or None,
            "secret_key": env_str("ASSAY_S3_SECRET_KEY") or None,
            "region_name": env_str("ASSAY_S3_REGION", "us-east-1"),
            "location": env_str("ASSAY_S3_PREFIX"),
            "default_acl": None,
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }
    if not STORAGES["default"]["OPTIONS"]["bucket_name"]:
        raise ImproperlyConfigured("ASSAY_STORAGE=s3 needs ASSAY_S3_BUCKET")
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
# a queued job nobody claimed for this long is sent to the broker again (a message may be lost)
REDISPATCH_AFTER_S = env_int("ASSAY_REDISPATCH_AFTER_S", 60)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("ASSAY_LOG_LEVEL", "WARNING")},
    "loggers": {"assay": {"level": env_str("ASSAY_LOG_LEVEL", "INFO"), "propagate": True}},
}
