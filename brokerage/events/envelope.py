"""The envelope every event travels in, and the topics events travel on."""

import json
from dataclasses import asdict, dataclass
from typing import Any

from django.conf import settings

ENVELOPE_VERSION = 1


@dataclass(frozen=True)
class Envelope:
    event_id: str
    event_type: str
    version: int
    occurred_at: str
    payload: dict[str, Any]

    def to_bytes(self) -> bytes:
        return json.dumps(asdict(self), separators=(",", ":")).encode()

    @classmethod
    def from_bytes(cls, raw: bytes | None) -> "Envelope":
        """Parse and check an envelope; ValueError says what is wrong with it."""
        if not raw:
            raise ValueError("empty message")
        try:
            data = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"not JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise ValueError("envelope is not an object")
        missing = {"event_id", "event_type", "version", "occurred_at", "payload"} - data.keys()
        if missing:
            raise ValueError(f"envelope lacks {sorted(missing)}")
        if not isinstance(data["payload"], dict):
            raise ValueError("payload is not an object")
        try:
            version = int(data["version"])
        except (TypeError, ValueError) as exc:
            raise ValueError(f"bad version {data['version']!r}") from exc
        return cls(
            event_id=str(data["event_id"]),
            event_type=str(data["event_type"]),
            version=version,
            occurred_at=str(data["occurred_at"]),
            payload=data["payload"],
        )


def topics() -> list[str]:
    return [
        settings.KAFKA_TOPIC_ORDERS,
        settings.KAFKA_TOPIC_PRICES,
    ]


def dlq_topic(topic: str) -> str:
    return f"{topic}.dlq"
