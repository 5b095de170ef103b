"""The WSGI entry point (granian, in every run mode)."""

import os

from django.core.wsgi import get_wsgi_application

from brokerage.observability import setup_tracing

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "brokerage.settings.local")

# Before the application is built: the Django instrumentation adds its middleware to
# the settings, and the handler reads the middleware chain once, when it is created.
setup_tracing("brokerage-web")
application = get_wsgi_application()
