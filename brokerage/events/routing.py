"""Where events go: each app registers the Celery tasks that consume its events.

An app's `AppConfig.ready()` calls `register(...)` with its own tasks; the table holds
only their names and queues, so this package knows no domain app, and the bridge hands
an event to its task by name. An event without a route is poison (the bridge parks it
in the dead-letter topic).
"""

from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from uuid import UUID

from celery import Task
from django.conf import settings

from brokerage.events.envelope import Envelope


class Topic(StrEnum):
    """A topic by role; its name is a setting (deployments and test runs choose it)."""

    ORDERS = "KAFKA_TOPIC_ORDERS"
    PRICES = "KAFKA_TOPIC_PRICES"

    @property
    def topic_name(self) -> str:
        name: str = getattr(settings, self.value)
        return name


@dataclass(frozen=True)
class Route:
    topic: Topic
    event_type: str
    task: str  # the Celery task's name
    queue: str
    # Payload keys passed to the task as kwargs; "event_id" is the envelope's.
    args: tuple[str, ...]
    # The bridge hands a batch's events of this route to one task: (task name, list
    # kwarg). The list holds each event's one arg, or its kwargs dict when it has several.
    batch: tuple[str, str] | None = None

    def batch_item(self, kwargs: dict[str, Any]) -> Any:
        return kwargs[self.args[0]] if len(self.args) == 1 else kwargs


_routes: dict[tuple[Topic, str], Route] = {}


def register(
    topic: Topic,
    event_type: str,
    task: Task,
    args: tuple[str, ...],
    *,
    batch: tuple[Task, str] | None = None,
) -> None:
    """Route `event_type` on `topic` to `task` (or, a batch at a time, to batch's task)."""
    _routes[(topic, event_type)] = Route(
        topic=topic,
        event_type=event_type,
        task=task.name,
        queue=task.queue,  # type: ignore[attr-defined]  # set by shared_task(queue=...)
        args=args,
        batch=(batch[0].name, batch[1]) if batch else None,
    )


def routes() -> dict[tuple[str, str], Route]:
    """(topic name, event_type) -> route, with the topic names configured now."""
    return {(topic.topic_name, event_type): route for (topic, event_type), route in _routes.items()}


def resolve(topic: str, envelope: Envelope) -> tuple[Route, dict[str, Any]]:
    """The route and task kwargs for an event; ValueError if it cannot be routed."""
    route = routes().get((topic, envelope.event_type))
    if route is None:
        raise ValueError(f"no route for {envelope.event_type!r} on {topic!r}")
    fields = {**envelope.payload, "event_id": envelope.event_id}
    missing = [name for name in route.args if name not in fields]
    if missing:
        raise ValueError(f"payload lacks {missing}")
    return route, {name: _checked(name, fields[name]) for name in route.args}


def _checked(name: str, value: Any) -> Any:
    """Ids must be UUIDs here: one bad id in a batch task would fail the whole batch."""
    if not name.endswith("_id"):
        return value
    try:
        return str(UUID(str(value)))
    except ValueError as exc:
        raise ValueError(f"{name} {value!r} is not a UUID") from exc
