"""The project package: settings, URLs, Celery, the API plumbing, the event transport."""

from brokerage.celery import app as celery_app

__all__ = ("celery_app",)
