"""The WSGI entry point (granian, in every run mode)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "brokerage.settings.local")
application = get_wsgi_application()

from brokerage.observability import setup_tracing  # noqa: E402  (needs settings loaded)

setup_tracing("brokerage-web")
