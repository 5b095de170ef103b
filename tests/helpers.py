"""Assertions and clients shared by the tests."""

import os
import signal
import subprocess
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

from django.db.models import Sum
from rest_framework.test import APIClient

from orders.models import Fill, Order
from users.models import Position, User
from users.services import create_token

ERROR_KEYS = {"error_code", "error_message", "error_detail"}
DEADLINE = 30.0
ROOT = Path(__file__).resolve().parents[1]


def assert_error(resp, status: int, code: int) -> dict:  # type: ignore[no-untyped-def]
    """The one error shape: status, JSON, exactly the three keys, the expected code."""
    assert resp.status_code == status, resp.content
    assert resp["Content-Type"].startswith("application/json"), resp["Content-Type"]
    body = resp.json()
    assert set(body) == ERROR_KEYS, body
    assert body["error_code"] == code, body
    assert isinstance(body["error_message"], str)
    assert body["error_message"]
    assert isinstance(body["error_detail"], list)
    return body


def token_key(user: User, name: str = "test") -> str:
    """The key of a new API token of the user's (only its hash is stored: keep it)."""
    return create_token(user=user, name=name).key


def token_client(user: User) -> APIClient:
    """A fresh client that authenticates with a real token of the user's, newly issued."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_key(user)}")
    return client


def assert_book_consistent() -> None:
    """After the pipeline settles: fills add up to filled quantities, terminal orders hold
    nothing, and each account's and position's reservation is what its live orders hold."""
    filled = dict(
        Fill.objects.values("order").annotate(total=Sum("quantity")).values_list("order", "total")
    )
    cash: defaultdict[object, Decimal] = defaultdict(Decimal)
    shares: defaultdict[tuple[object, object], Decimal] = defaultdict(Decimal)
    orders = list(Order.objects.all())
    for order in orders:
        assert Decimal(0) <= order.filled_quantity <= order.quantity, order.pk
        assert filled.get(order.pk, Decimal(0)) == order.filled_quantity, order.pk
        if order.is_terminal:
            assert (order.reserved_cash, order.reserved_quantity) == (0, 0), order.pk
        else:
            cash[order.user_id] += order.reserved_cash
            shares[(order.user_id, order.stock_id)] += order.reserved_quantity
    user_ids = {order.user_id for order in orders}
    for user in User.objects.filter(pk__in=user_ids):
        assert user.cash_reserved == cash[user.pk], user.email
    for position in Position.objects.filter(user_id__in=user_ids):
        assert position.quantity_reserved == shares[(position.user_id, position.stock_id)]


def wait_until(
    condition: Callable[[], object], *, timeout: float = DEADLINE, what: str = "condition"
) -> object:
    """Poll `condition` until it is truthy; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


ORDER_KEYS = {
    "id",
    "client_order_id",
    "user_id",
    "symbol",
    "side",
    "type",
    "time_in_force",
    "quantity",
    "limit_price",
    "filled_quantity",
    "average_fill_price",
    "status",
    "error_code",
    "created_at",
    "accepted_at",
    "filled_at",
    "cancelled_at",
    "expired_at",
    "updated_at",
}


def assert_order_json(body: dict[str, object], **expected: object) -> None:
    """An order as every endpoint answers it: exactly its fields (a detail adds `fills`),
    ids and times present, and the `expected` values."""
    assert set(body) - {"fills"} == ORDER_KEYS, sorted(set(body) ^ ORDER_KEYS)
    for present in ("id", "user_id", "created_at", "updated_at"):
        assert body[present], present
    for name, value in expected.items():
        assert body[name] == value, (name, body[name], value)


class Proc:
    """A subprocess whose output is collected line by line, for waiting on log lines."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str]) -> None:
        self.name = name
        self.lines: list[str] = []
        self.popen = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.popen.stdout is not None
        for line in self.popen.stdout:
            self.lines.append(line.rstrip())

    def wait_for_line(self, text: str, *, timeout: float = DEADLINE, after: int = 0) -> None:
        def seen() -> bool:
            if self.popen.poll() is not None and not any(text in ln for ln in self.lines[after:]):
                raise AssertionError(f"{self.name} exited:\n" + "\n".join(self.lines[-40:]))
            return any(text in line for line in self.lines[after:])

        wait_until(seen, timeout=timeout, what=f"{self.name} to log {text!r}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = DEADLINE) -> int:
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, sig)
        return self.popen.wait(timeout)

    def kill(self) -> None:
        self.stop(signal.SIGKILL)


def database_url() -> str:
    """The test database's URL, for subprocesses (the test run's own name and port)."""
    from django.db import connection

    db = connection.settings_dict
    return f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
