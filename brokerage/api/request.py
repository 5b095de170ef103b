"""What a view reads from its request: the authenticated caller, ids from the URL."""

from typing import TYPE_CHECKING, cast
from uuid import UUID

from rest_framework.request import Request

from brokerage.api.errors import InvalidInput

if TYPE_CHECKING:
    from users.models import User


def actor(request: Request) -> "User":
    """The authenticated caller; views behind IsAuthenticated always have one."""
    assert request.user.is_authenticated
    return cast("User", request.user)


def parse_uuid(value: str, field: str) -> UUID:
    """A malformed id in a URL is bad input (400, 1000), not a missing record."""
    try:
        return UUID(value)
    except ValueError as exc:
        raise InvalidInput(f"'{value}' is not a valid UUID.", field=field) from exc
