"""The ASGI entry point."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "brokerage.settings.local")
application = get_asgi_application()

from brokerage.observability import setup_tracing  # noqa: E402  (needs settings loaded)

setup_tracing("brokerage-web")
