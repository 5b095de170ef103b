"""Production (the image, compose): refuses to start with a public key or open hosts."""

from django.core.exceptions import ImproperlyConfigured

from brokerage.settings.base import *  # noqa: F403
from brokerage.settings.base import env
from brokerage.settings.local import DEV_SECRET_KEY

DEBUG = False
SECRET_KEY = env.str("SECRET_KEY", default="")
if len(SECRET_KEY) < 50 or SECRET_KEY == DEV_SECRET_KEY or "replace-me" in SECRET_KEY:
    raise ImproperlyConfigured(
        "SECRET_KEY must be set to 50 or more random characters (not the development key)"
    )
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[])
if not ALLOWED_HOSTS or "*" in ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must name the hosts this site answers to")

# Behind a TLS-terminating proxy that sets X-Forwarded-Proto (name it, or leave unset).
if env.str("SECURE_PROXY_SSL_HEADER", default=""):
    SECURE_PROXY_SSL_HEADER = (env.str("SECURE_PROXY_SSL_HEADER"), "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)

# A stolen API token works for a month at most (0: until revoked, only if you must).
AUTH_TOKEN_TTL = env.int("AUTH_TOKEN_TTL", default=30 * 24 * 3600)

# Static files from what collectstatic wrote into the image (hashed names, compressed,
# cached forever), not looked up in the apps' folders on every request.
WHITENOISE_USE_FINDERS = False
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# /metrics is served only to the bearer of METRICS_TOKEN; with none set, to nobody.
METRICS_OPEN_WITHOUT_TOKEN = False

# One JSON object per log line, for a log pipeline to parse (LOG_FORMAT=console to read).
LOG_FORMAT = env.str("LOG_FORMAT", default="json")
LOGGING["handlers"]["console"]["formatter"] = LOG_FORMAT  # type: ignore[index]  # noqa: F405
