"""The journal: every movement of cash and shares, append-only, proving every balance;
the activities API; reconcile catching a corrupted balance; money fields that generic
saves cannot write; rounding in the house's favour and the minimum order value."""

from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.auth.forms import SetPasswordForm
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from prometheus_client import REGISTRY

from brokerage.ledger.models import AppendOnly, EntryKind, LedgerEntry
from orders.models import Fill
from orders.reconciliation import reconcile
from stocks.services import create_stock, update_stock
from tests.helpers import assert_error, token_client
from users.models import User
from users.services import create_user

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.fixture
def market(settings, django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    """ACME listed and Ada signed up through the services, orders executed inline."""
    settings.DEFAULT_USER_STOCK_AMOUNT = D("10")
    create_stock(symbol="ACME", name="Acme", price=D("50"), amount=D("1000"))
    ada = create_user(email="ada@example.com", name="Ada", surname="L", balance=D("1000"))
    api = token_client(ada)

    def order(expect: int = 202, **body: str) -> dict[str, object]:
        with django_capture_on_commit_callbacks(execute=True):
            resp = api.post("/api/v1/orders", {"symbol": "ACME", **body}, format="json")
        assert resp.status_code == expect, resp.json()
        return resp.json()  # type: ignore[no-any-return]

    return ada, api, order


def entries(user: User) -> list[tuple[str, str | None, Decimal, Decimal]]:
    rows = LedgerEntry.objects.filter(user=user).order_by("id").select_related("stock")
    return [(e.kind, e.stock and e.stock.symbol, e.amount, e.balance_after) for e in rows]


def test_sign_up_and_fills_are_journaled_with_the_balance_they_left(market):
    ada, _, order = market

    order(side="buy", type="market", quantity="3")  # 150 at 50
    order(side="sell", type="market", quantity="1")  # 50 back

    assert entries(ada) == [
        (EntryKind.GRANT, None, D("1000"), D("1000")),
        (EntryKind.STARTER_SHARES, "ACME", D("10"), D("10")),
        (EntryKind.FILL, None, D("-150"), D("850")),
        (EntryKind.FILL, "ACME", D("3"), D("13")),
        (EntryKind.FILL, None, D("50"), D("900")),
        (EntryKind.FILL, "ACME", D("-1"), D("12")),
    ]
    assert reconcile() == []


def test_the_house_inventory_is_journaled_too(market):
    update_stock(symbol="ACME", amount=D("400"))

    house = LedgerEntry.objects.filter(user=None).order_by("id")
    assert [(e.amount, e.balance_after) for e in house] == [
        (D("1000"), D("1000")),
        (D("-600"), D("400")),
    ]
    assert reconcile() == []


def test_activities_list_own_entries_newest_first_with_filters(market, client_for, staff):
    _, api, order = market
    placed = order(side="buy", type="market", quantity="2")
    other = create_user(email="bob@example.com", name="Bob", surname="B")

    mine = api.get("/api/v1/activities").json()["results"]
    assert [(a["kind"], a["symbol"]) for a in mine] == [
        ("fill", "ACME"),
        ("fill", None),
        ("starter_shares", "ACME"),
        ("grant", None),
    ]
    assert mine[1]["amount"] == "-100.000000"
    assert mine[1]["balance_after"] == "900.000000"
    assert mine[1]["order_id"] == placed["id"]
    fills = api.get("/api/v1/activities?kind=fill").json()["results"]
    assert {a["kind"] for a in fills} == {"fill"}
    later = (timezone.now() + timedelta(minutes=1)).isoformat()
    assert api.get("/api/v1/activities", {"after": later}).json()["results"] == []
    # A customer asking for someone else's sees nothing; staff see anyone's.
    assert api.get(f"/api/v1/activities?user_id={other.pk}").json()["results"] == []
    bobs = client_for(staff).get(f"/api/v1/activities?user_id={other.pk}").json()["results"]
    assert {a["user_id"] for a in bobs} == {str(other.pk)}


@pytest.mark.parametrize(
    ("query", "field"),
    [("kind=bonus", "kind"), ("after=yesterday", "after"), ("user_id=1", "user_id")],
)
def test_bad_activity_filters_are_400_1000(market, query, field):
    _, api, _ = market

    body = assert_error(api.get(f"/api/v1/activities?{query}"), 400, 1000)
    assert body["error_detail"][0]["field"] == field


def test_entries_are_never_changed_or_deleted(market):
    entry = LedgerEntry.objects.first()
    assert entry is not None

    with pytest.raises(AppendOnly):
        entry.save()
    with pytest.raises(AppendOnly):
        entry.delete()
    for sql in (
        "UPDATE brokerage_ledgerentry SET amount = amount + 1",
        "DELETE FROM brokerage_ledgerentry",
    ):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            connection.cursor().execute(sql)


def differences_metric() -> float:
    return REGISTRY.get_sample_value("brokerage_reconcile_differences") or 0.0


@pytest.mark.parametrize(
    ("sql", "check"),
    [
        ("UPDATE users_user SET cash = cash + 0.0001", "cash"),
        ("UPDATE users_user SET cash_reserved = cash_reserved + 1", "reserved cash"),
        ("UPDATE users_position SET quantity = quantity + 1", "shares of position"),
        ("UPDATE stocks_stock SET amount = amount - 1", "shares of stock"),
    ],
)
def test_reconcile_catches_a_corrupted_balance(market, sql, check):
    _, _, order = market
    order(side="buy", type="market", quantity="1")
    call_command("reconcile", stdout=StringIO())  # clean before
    assert differences_metric() == 0

    with connection.cursor() as cursor:
        cursor.execute(sql)
    out = StringIO()
    with pytest.raises(CommandError, match="difference"):
        call_command("reconcile", stdout=out)

    assert any(line.startswith(check) for line in out.getvalue().splitlines()), out.getvalue()
    assert differences_metric() >= 1


def test_a_fill_after_loading_a_user_survives_the_admins_password_form(market):
    ada, _, order = market
    stale = User.objects.get(pk=ada.pk)  # the admin loads the account...
    order(side="buy", type="market", quantity="2")  # ...a fill moves its cash...

    form = SetPasswordForm(
        stale, {"new_password1": "Hopper-1906x", "new_password2": "Hopper-1906x"}
    )
    assert form.is_valid(), form.errors
    form.save()  # ...and the admin saves the password form

    ada.refresh_from_db()
    assert ada.cash == D("900")
    assert ada.check_password("Hopper-1906x")
    assert reconcile() == []


def test_buys_round_up_and_sells_round_down(market):
    _, _, order = market
    update_stock(symbol="ACME", price=D("33.3333"))

    order(side="buy", type="market", quantity="0.003")  # 0.0999999
    order(side="sell", type="market", quantity="0.003")

    buy, sell = Fill.objects.order_by("id")
    assert (buy.amount, sell.amount) == (D("0.1000"), D("0.0999"))
    assert reconcile() == []


def test_an_order_worth_less_than_the_minimum_is_refused(market, settings):
    ada, _, order = market
    settings.MIN_ORDER_NOTIONAL = D("1")

    body = order(expect=422, side="buy", type="market", quantity="0.01")  # 0.50
    assert body["error_code"] == 2021
    order(expect=422, side="sell", type="limit", limit_price="0.5", quantity="1")
    order(side="buy", type="limit", limit_price="1", quantity="1")  # exactly the minimum
    ada.refresh_from_db()
    assert ada.cash_reserved == D("1")
