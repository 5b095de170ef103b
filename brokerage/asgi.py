"""The ASGI entry point."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "brokerage.settings.local")

from brokerage.observability import setup_tracing  # noqa: E402  (reads the settings)

setup_tracing("brokerage-web")  # before the application is built (see wsgi.py)
application = get_asgi_application()
