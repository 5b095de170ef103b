from django.apps import AppConfig


class BrokerageConfig(AppConfig):
    name = "brokerage"
    default_auto_field = "django.db.models.BigAutoField"
