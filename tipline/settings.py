"""Settings for both Tipline sites, read from the environment.

Every value comes from an environment variable through the small typed helpers below; every
variable is documented in docs/configuration.md. The same module serves the public site and the
back office: ``TIPLINE_SITE`` picks the URLconf, the middleware and which secrets are loaded.
Defaults are safe for a single machine: SQLite and a filesystem broker under the data dir.
"""

import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str, default: str | None = None) -> str | None:
    """Return ``$NAME``, or the contents of the file named by ``$NAME_FILE``, or ``default``."""
    if name in os.environ:
        return os.environ[name]
    file_name = os.environ.get(f"{name}_FILE")
    if file_name:
        try:
            return Path(file_name).read_text().strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE={file_name!r}: {exc.strerror}") from None
    return default


def envbool(name: str, default: bool) -> bool:
    value = env(name)
    if value is None or value == "":
        return default
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name}={value!r}: use true or false")


def envint(name: str, default: int) -> int:
    value = env(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r}: expected a whole number") from None


def envlimit(name: str, default: int) -> int:
    """A whole number of at least 1 (a limit of 0 would lock everyone out, or nobody)."""
    value = envint(name, default)
    if value < 1:
        raise ImproperlyConfigured(f"{name}={value}: use 1 or more")
    return value


def envlist(name: str, default: str) -> list[str]:
    return [item.strip() for item in (env(name, default) or "").split(",") if item.strip()]


def read_or_create_secret(path: Path, nbytes: int = 50) -> str:
    """Return the secret stored at ``path``, creating it (mode 0600) on first use.

    Several processes may start at once; the secret is written to a private temporary name and
    linked into place, so exactly one value wins and every process reads that one.
    """
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    candidate = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_urlsafe(nbytes))
        handle.flush()
        os.fsync(handle.fileno())
    try:
        os.link(candidate, path)
    except FileExistsError:
        pass
    finally:
        candidate.unlink()
    return path.read_text().strip()


SITE = env("TIPLINE_SITE", "public")
if SITE not in ("public", "backoffice"):
    raise ImproperlyConfigured(f"TIPLINE_SITE={SITE!r}: use 'public' or 'backoffice'")
PUBLIC = SITE == "public"

DATA_DIR = Path(env("TIPLINE_DATA_DIR", str(BASE_DIR / "var"))).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True, mode=0o700)

# Each site has its own secret key: the public site must not be able to forge or read the back
# office's sessions, nor the cookie that carries a reviewer's key passphrase.
SECRET_KEY = env("SECRET_KEY") or read_or_create_secret(DATA_DIR / "secrets" / f"{SITE}-secret-key")
DEBUG = envbool("DEBUG", False)
ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "127.0.0.1,localhost")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    # The admin (questionnaires, desks) is routed by the back office only. SimpleAdminConfig
    # does not autodiscover, so the public process never imports reviewers/admin.py.
    "django.contrib.admin.apps.SimpleAdminConfig",
    "django_otp",
    "django_otp.plugins.otp_totp",
    # Passkeys and security keys, routed by the back office only (reviewers/passkeys.py).
    "django_otp_webauthn",
    "tipline",
    "reviewers",
]

# The first middleware removes client identity from every request before anything (logging,
# error reports, views) can see it. Authentication exists only in the back office; the public
# site needs no session to take a tip, only to show a returning tipster their replies.
COMMON_MIDDLEWARE = [
    "tipline.middleware.forget_client_identity",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "tipline.middleware.security_headers",
]
SITE_MIDDLEWARE = {
    "public": [
        *COMMON_MIDDLEWARE,
        # Sessions exist only for a tipster who checked in with a codename.
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.contrib.messages.middleware.MessageMiddleware",
        "django.middleware.locale.LocaleMiddleware",
        "django.middleware.common.CommonMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
        "django.middleware.clickjacking.XFrameOptionsMiddleware",
    ],
    "backoffice": [
        *COMMON_MIDDLEWARE,
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.middleware.common.CommonMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "django_otp.middleware.OTPMiddleware",
        # Ends sessions idle or old beyond their limits, before any view runs.
        "reviewers.session_expiry.end_expired_sessions",
        "django.contrib.messages.middleware.MessageMiddleware",
        # A reviewer who must use a passkey gets nowhere with TOTP alone.
        "reviewers.passkeys.enforce_passkey_policy",
        "django.middleware.clickjacking.XFrameOptionsMiddleware",
    ],
}
SITE_URLCONF = {"public": "tipline.urls_public", "backoffice": "reviewers.urls"}
SITE_CONTEXT_PROCESSORS = {
    "public": ["django.contrib.messages.context_processors.messages"],
    "backoffice": [
        "django.contrib.auth.context_processors.auth",
        "django.contrib.messages.context_processors.messages",
        "reviewers.context_processors.key_state",
    ],
}
SITE_SESSION_ENGINE = {
    # A signed cookie, encrypted too: the server keeps nothing, and the browser shows nothing.
    "public": "tipline.sealed_session",
    # In the database, keyed by a hash of the cookie: a copy of the table opens no session.
    "backoffice": "reviewers.session_store",
}
MIDDLEWARE = SITE_MIDDLEWARE[SITE]
SESSION_ENGINE = SITE_SESSION_ENGINE[SITE]
ROOT_URLCONF = SITE_URLCONF[SITE]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.csrf",
                *SITE_CONTEXT_PROCESSORS[SITE],
            ],
        },
    }
]

WSGI_APPLICATION = "tipline.wsgi_public.application" if PUBLIC else "reviewers.wsgi.application"

DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL") or f"sqlite:///{DATA_DIR / 'tipline.sqlite3'}", conn_max_age=60
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers and the writer work at once; synchronous=FULL makes a commit durable
    # before the tipster sees a receipt; IMMEDIATE avoids lock upgrades failing under load.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL;PRAGMA synchronous=FULL;PRAGMA busy_timeout=20000",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # Tests use a file too (not Django's in-memory default), so that concurrent writers behave
    # as they do in production; one file per test run, so that two runs never share one.
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / f"test-tipline-{os.getpid()}.sqlite3")}
if env("TIPLINE_TEST_DATABASE_NAME"):
    DATABASES["default"]["TEST"] = {"NAME": env("TIPLINE_TEST_DATABASE_NAME")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
LOGIN_URL = "reviewers:login"
LOGIN_REDIRECT_URL = "reviewers:inbox"

LANGUAGE_CODE = "en"
LANGUAGES = [
    ("en", "English"),
    ("ar", "العربية"),
    ("es", "Español"),
    ("fa", "فارسی"),
    ("fr", "Français"),
    ("ko", "한국어"),
    ("ru", "Русский"),
    ("zh-hans", "简体中文"),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_COOKIE_NAME = "tipline_language"
LANGUAGE_COOKIE_SAMESITE = "Strict"
LANGUAGE_COOKIE_HTTPONLY = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

# --- Transport security --------------------------------------------------------------------
# TIPLINE_HTTPS is on unless the site is reached over plain HTTP on loopback for development.
# An onion address counts as HTTPS here: Tor Browser treats it as a secure context.
HTTPS = envbool("TIPLINE_HTTPS", True)
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
LANGUAGE_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = 63072000 if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
# Preloading commits the whole domain to HTTPS for browsers' lifetimes: the operator's call.
SECURE_HSTS_PRELOAD = envbool("TIPLINE_HSTS_PRELOAD", False)
SECURE_CONTENT_TYPE_NOSNIFF = True
# Same-origin only: a link away from the site carries no referrer, while our own forms keep a
# real Origin header (under no-referrer, browsers send "Origin: null" and CSRF checks fail).
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# The public site's onion address (without scheme), announced with an Onion-Location header.
ONION_ADDRESS = env("TIPLINE_ONION_ADDRESS", "")
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Strict"
CSRF_COOKIE_HTTPONLY = True
# Gone when the browser closes: a year-long cookie would be evidence of a visit on the device.
CSRF_COOKIE_AGE = None
# Flash messages ("your message was sent") live in the session, never in a cookie of their own.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"
CSRF_COOKIE_SAMESITE = "Strict"
SESSION_COOKIE_NAME = f"tipline_{SITE}_session"
CSRF_COOKIE_NAME = f"tipline_{SITE}_csrf"
# CSRF failures are shown on each site's own error page (the tipster's in their language) rather
# than Django's default; the public page links to public URLs, which the back office lacks.
SITE_CSRF_FAILURE_VIEW = {
    "public": "tipline.views.csrf_failure",
    "backoffice": "reviewers.views.csrf_failure",
}
CSRF_FAILURE_VIEW = SITE_CSRF_FAILURE_VIEW[SITE]
# A reviewer's session ends after 30 idle minutes or eight hours; a returning tipster's after
# two idle hours. Both end when the browser closes.
# A returning tipster's session also ends 8 hours after the check-in, however active.
TIPSTER_SESSION_MAX_SECONDS = envint("TIPLINE_TIPSTER_SESSION_MAX_HOURS", 8) * 3600
# A reviewer's session ends after this long without a request, and this long after the login
# however active (reviewers/session_expiry.py); the session row expires with the idle limit.
REVIEWER_IDLE_SECONDS = envlimit("TIPLINE_REVIEWER_IDLE_MINUTES", 30) * 60
REVIEWER_SESSION_MAX_SECONDS = envlimit("TIPLINE_SESSION_HOURS", 8) * 3600
if PUBLIC:
    # A tipster's session lives only in their browser (sealed with the public site's key): the
    # server keeps no row that says a tip was looked at, or when.
    SESSION_COOKIE_AGE = envint("TIPLINE_TIPSTER_IDLE_MINUTES", 120) * 60
    SESSION_SAVE_EVERY_REQUEST = True
else:
    SESSION_COOKIE_AGE = REVIEWER_IDLE_SECONDS
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
# Password and code guesses, and key passphrase guesses, per account: after LOGIN_FAILURES
# failures within LOGIN_LOCKOUT_MINUTES the account refuses that kind of attempt for as long
# (reviewers/lockout.py). Nothing about the client is kept.
LOGIN_FAILURES = envlimit("TIPLINE_LOGIN_FAILURES", 5)
LOGIN_LOCKOUT_MINUTES = envlimit("TIPLINE_LOGIN_LOCKOUT_MINUTES", 15)
# An invitation link (a new reviewer, or a new authenticator after a reset) works once, this long.
INVITATION_HOURS = envint("TIPLINE_INVITATION_HOURS", 72)
if INVITATION_HOURS < 1:
    raise ImproperlyConfigured(f"TIPLINE_INVITATION_HOURS={INVITATION_HOURS}: use 1 or more hours")
# Codename check-ins allowed per minute across the whole site. Guessing a 90-bit codename is
# hopeless anyway; this bounds the Argon2 work an attacker can make the server do, without
# keeping anything about who asks.
CHECKINS_PER_MINUTE = envint("TIPLINE_CHECKINS_PER_MINUTE", 120)
# New tips accepted per minute for the whole site, and for each desk; follow-ups have a budget of
# their own. Every POST is counted, before its body is read: refused requests cost no Argon2 or
# gpg work and leave nothing behind, and only a count per window is kept (tipline/throttle.py).
TIPS_PER_MINUTE = envlimit("TIPLINE_TIPS_PER_MINUTE", 120)
TIPS_PER_DESK_PER_MINUTE = envlimit("TIPLINE_TIPS_PER_DESK_PER_MINUTE", 60)
FOLLOWUPS_PER_MINUTE = envlimit("TIPLINE_FOLLOWUPS_PER_MINUTE", 120)
# Proof of work (tipline/proof_of_work.py): a browser that runs the questionnaire's script and
# finds a hash with POW_BITS leading zero bits has its tip counted against POW_TIPS_PER_MINUTE
# instead, so a flood without work cannot crowd it out. 0 switches it off: no ticket, no script.
# Tips without work (Tor Browser's Safest level runs no script) are counted as above, never
# refused for it.
POW_BITS = envint("TIPLINE_POW_BITS", 0)
if not 0 <= POW_BITS <= 28:
    raise ImproperlyConfigured(f"TIPLINE_POW_BITS={POW_BITS}: use 0 (off) to 28")
POW_TIPS_PER_MINUTE = envlimit("TIPLINE_POW_TIPS_PER_MINUTE", 240)
# TLS terminates at the reverse proxy (clearnet) or at Tor (onion); neither forwards a client
# address, and the redirect to HTTPS is the proxy's job. See docs/configuration.md.
# W021 (no HSTS preload) is the operator's decision, made with TIPLINE_HSTS_PRELOAD.
SILENCED_SYSTEM_CHECKS = ["security.W008", "security.W021"]
if PUBLIC:
    # The admin's models are installed on both sites (one database, one set of migrations), but
    # only the back office routes the admin and has the sessions and middleware it needs.
    SILENCED_SYSTEM_CHECKS += ["admin.E402", "admin.E408"]
if envbool("TIPLINE_BEHIND_TLS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'none'"],
        "style-src": ["'self'"],
        "img-src": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'none'"],
    }
}
if not PUBLIC:
    # The back office may run its own scripts (the admin's, and the passkey ceremonies, which
    # call its own JSON endpoints); the public site runs none at all.
    CONTENT_SECURITY_POLICY["DIRECTIVES"]["script-src"] = ["'self'"]
    CONTENT_SECURITY_POLICY["DIRECTIVES"]["connect-src"] = ["'self'"]

# --- Uploads ---------------------------------------------------------------------------------
MAX_ATTACHMENT_BYTES = envint("TIPLINE_MAX_ATTACHMENT_MB", 500) * 1024 * 1024
MAX_FILES = envint("TIPLINE_MAX_FILES", 10)
MAX_MESSAGE_CHARS = envint("TIPLINE_MAX_MESSAGE_CHARS", 100_000)
# Non-file form fields stay in memory and are bounded here; files never touch Django's upload
# handlers that write to disk (see tipline/uploads.py).
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_MESSAGE_CHARS * 4 + 64 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 200
# A backstop only: the upload handler refuses file number MAX_FILES + 1 with a clear message.
DATA_UPLOAD_MAX_NUMBER_FILES = MAX_FILES + 20
FILE_UPLOAD_HANDLERS = ["tipline.uploads.SkipFilesUploadHandler"]

# --- GnuPG -------------------------------------------------------------------------------------
GPG_BINARY = env("TIPLINE_GPG_BINARY", "gpg")
# The public site's home holds public keys only. The back office keeps one home per reviewer,
# each holding that reviewer's passphrase-protected secret key.
GNUPG_DIR = DATA_DIR / "gnupg"
PUBLIC_GNUPG_HOME = Path(env("TIPLINE_PUBLIC_GNUPG_HOME", str(GNUPG_DIR / "public")))
REVIEWER_GNUPG_ROOT = (
    None if PUBLIC else Path(env("TIPLINE_REVIEWER_GNUPG_ROOT", str(GNUPG_DIR / "reviewers")))
)
# Where the back office opens a tip's parts with their own passphrases (tipline/part_keys.py):
# a home that never holds a secret key.
PART_GNUPG_HOME = None if PUBLIC else GNUPG_DIR / "parts"
ENCRYPTED_FILES_DIR = Path(env("TIPLINE_FILES_DIR", str(DATA_DIR / "files")))

# The organization's OpenPGP public key (armored), offered at /organization-key.asc for
# tipsters who prefer to encrypt before sending. Its secret half is never on any server here.
# `manage.py importorgkey` installs it as DATA_DIR/organization-key.asc, used when this is unset.
ORGANIZATION_KEY_FILE = env("TIPLINE_ORGANIZATION_KEY_FILE", "") or (
    str(DATA_DIR / "organization-key.asc") if (DATA_DIR / "organization-key.asc").is_file() else ""
)

# --- Codenames ---------------------------------------------------------------------------------
# Each word of the EFF list adds about 12.9 bits: seven make about 90, the strength the threat
# model counts on for a codename (the only thing that opens a tip's replies). Fewer are refused.
CODENAME_WORDS = envint("TIPLINE_CODENAME_WORDS", 7)
if CODENAME_WORDS < 7:
    raise ImproperlyConfigured(
        f"TIPLINE_CODENAME_WORDS={CODENAME_WORDS}: use 7 or more (7 words are about 90 bits)"
    )
# A site-wide pepper mixed into the codename hash; it must be backed up with the database and
# shared by every public-site process. The back office never needs it.
CODENAME_PEPPER = None
if PUBLIC:
    CODENAME_PEPPER = env("TIPLINE_CODENAME_PEPPER") or read_or_create_secret(
        DATA_DIR / "secrets" / "codename-pepper"
    )

# --- Receipts ----------------------------------------------------------------------------------
# The public site's own GnuPG home for its signing-only receipt key (tipline/receipts.py): never
# the home of the keys tips are encrypted to, which must hold no secret key (tipline.E002).
RECEIPT_GNUPG_HOME = str(DATA_DIR / "gnupg" / "receipts") if PUBLIC else None

# --- Indicators --------------------------------------------------------------------------------
# The key of the keyed hashes (HMAC-SHA256) under which the back office correlates indicators
# across tips (reviewers/correlation.py). The back office only: with it, anyone holding the
# database could test whether a given address was reported. Back it up with the database (a new
# key orphans every stored hash). The public site refuses to start with it (tipline.E006).
INDICATOR_KEY = None
if not PUBLIC:
    INDICATOR_KEY = (
        env("TIPLINE_INDICATOR_KEY")
        or read_or_create_secret(DATA_DIR / "secrets" / "indicator-key")
    ).encode()
# Tips decrypted per click of *Sort for spam* in the back office (reviewers/spam_clusters.py):
# each decryption takes about a quarter of a second, so 25 answer within about 8 seconds.
SPAM_SORT_BATCH = envlimit("TIPLINE_SPAM_SORT_BATCH", 25)

# --- Celery ------------------------------------------------------------------------------------
CELERY_BROKER_URL = env("CELERY_BROKER_URL") or "filesystem://"
if CELERY_BROKER_URL == "filesystem://":
    _queue_dir = DATA_DIR / "broker"
    for _sub in ("queue", "processed", "control"):
        (_queue_dir / _sub).mkdir(parents=True, exist_ok=True, mode=0o700)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir / "queue"),
        "data_folder_out": str(_queue_dir / "queue"),
        "processed_folder": str(_queue_dir / "processed"),
        "control_folder": str(_queue_dir / "control"),
        "store_processed": False,
    }
else:
    # A task is redelivered when a worker dies holding it; routing takes well under a second, so
    # five minutes is a generous bound before another worker picks it up.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 300}
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Enqueueing must not keep a tipster waiting when the broker is down: the sweeper re-enqueues.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2}
CELERY_BEAT_SCHEDULE = {
    "sweep-unrouted-tips": {
        "task": "tipline.tasks.sweep_unrouted",
        "schedule": float(envint("TIPLINE_SWEEP_SECONDS", 60)),
    },
    "remove-stale-uploads": {"task": "tipline.tasks.remove_stale_uploads", "schedule": 3600.0},
    "escalate-overdue-tips": {"task": "tipline.tasks.escalate_overdue_tips", "schedule": 900.0},
    "purge-closed-tips": {"task": "tipline.tasks.purge_closed_tips", "schedule": 86400.0},
    "forget-rate-limit-counts": {
        "task": "tipline.tasks.forget_rate_limit_counts",
        "schedule": 600.0,
    },
}
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")
# /health/ runs its checks at most this often per process (it is reachable by anyone).
HEALTH_CACHE_SECONDS = envint("TIPLINE_HEALTH_CACHE_SECONDS", 10)
ROUTING_GRACE_SECONDS = envint("TIPLINE_ROUTING_GRACE_SECONDS", 120)
# Closed tips are purged this many days after closing (0 keeps them until deleted by hand).
RETENTION_DAYS = envint("TIPLINE_RETENTION_DAYS", 365)

# --- Logging -----------------------------------------------------------------------------------
# Logs carry no request metadata: the formatter prints only the logger name and message, and the
# identity middleware has already removed addresses and user agents from the request.
# Plain lines, or one JSON object per line for a log collector (tipline/logformat.py). Either
# way only the time, level, logger and message are written: nothing about a client.
LOG_FORMAT = env("TIPLINE_LOG_FORMAT", "plain")
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured(f"TIPLINE_LOG_FORMAT={LOG_FORMAT!r}: use 'plain' or 'json'")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "tipline.logformat.JsonFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": env("TIPLINE_LOG_LEVEL", "INFO")},
    "loggers": {
        "django.server": {"level": "WARNING"},
        "gnupg": {"level": "WARNING"},
    },
}
ADMINS = []
# Mail only ever says that work is waiting. Without a configured backend it goes to the log.
EMAIL_BACKEND = env("TIPLINE_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env("EMAIL_HOST", "localhost")
EMAIL_PORT = envint("EMAIL_PORT", 25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "tipline@localhost")
# A reviewer is told there is new work at most once per interval (tipline/notifications.py).
NOTIFY_INTERVAL_MINUTES = envint("TIPLINE_NOTIFY_INTERVAL_MINUTES", 30)
if NOTIFY_INTERVAL_MINUTES < 1:
    raise ImproperlyConfigured(
        f"TIPLINE_NOTIFY_INTERVAL_MINUTES={NOTIFY_INTERVAL_MINUTES}: use 1 or more minutes"
    )
# Put in the new-work e-mail when set; without it the e-mail names no address at all.
BACKOFFICE_URL = env("TIPLINE_BACKOFFICE_URL", "") or ""
if BACKOFFICE_URL and not BACKOFFICE_URL.startswith(("https://", "http://")):
    raise ImproperlyConfigured(
        f"TIPLINE_BACKOFFICE_URL={BACKOFFICE_URL!r}: use a full URL, e.g. https://review.example/"
    )

# --- Passkeys and security keys (WebAuthn; reviewers/passkeys.py) ----------------------------
# A second factor only, after the password: never a way in on its own.
OTP_WEBAUTHN_ALLOW_PASSWORDLESS_LOGIN = False
OTP_WEBAUTHN_RP_NAME = "Tipline back office"
OTP_WEBAUTHN_HELPER_CLASS = "reviewers.passkeys.PasskeyHelper"
# The domain passkeys are bound to: TIPLINE_BACKOFFICE_URL's host, else the (allowed) host the
# back office is reached at. Changing it makes every registered passkey useless.
OTP_WEBAUTHN_RP_ID_CALLABLE = "reviewers.passkeys.relying_party_id"
OTP_WEBAUTHN_EXCEPTION_LOGGER_NAME = "reviewers.passkeys"
if BACKOFFICE_URL:
    _backoffice = urlsplit(BACKOFFICE_URL)
    OTP_WEBAUTHN_ALLOWED_ORIGINS = [f"{_backoffice.scheme}://{_backoffice.netloc}"]
else:
    # Without a configured address the expected origin is the one each request came to, among
    # ALLOWED_HOSTS (PasskeyHelper); set TIPLINE_BACKOFFICE_URL in production to pin it.
    SILENCED_SYSTEM_CHECKS += ["otp_webauthn.E030"]
# Every reviewer must register a passkey or security key, and then sign in with it.
REQUIRE_PASSKEY = envbool("TIPLINE_REQUIRE_PASSKEY", False)
