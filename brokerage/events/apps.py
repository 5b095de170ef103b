"""The event transport as an installed app (its commands, tasks and outbox model)."""

from django.apps import AppConfig


class EventsConfig(AppConfig):
    """The event transport: the outbox, the producer, the bridge and their commands. It
    knows no domain app; each app registers its routes (brokerage.events.routing)."""

    name = "brokerage.events"
    label = "events"
