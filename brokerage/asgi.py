"""The ASGI entry point."""

import os

from django.core.asgi import get_asgi_application

from brokerage.observability import setup_tracing

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "brokerage.settings.local")

setup_tracing("brokerage-web")  # before the application is built (see wsgi.py)
application = get_asgi_application()
