"""The journal refuses UPDATE and DELETE in the database too, and starts from the
balances that existed before it: one `opening` entry per account's cash, per position
and per stock's house inventory, so that reconcile holds from the first day."""

from django.db import migrations

APPEND_ONLY = """
CREATE FUNCTION brokerage_ledger_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'brokerage_ledgerentry is append-only: % refused', TG_OP;
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER brokerage_ledger_append_only
    BEFORE UPDATE OR DELETE ON brokerage_ledgerentry
    FOR EACH ROW EXECUTE FUNCTION brokerage_ledger_append_only();
"""
DROP_APPEND_ONLY = """
DROP TRIGGER brokerage_ledger_append_only ON brokerage_ledgerentry;
DROP FUNCTION brokerage_ledger_append_only();
"""


def open_balances(apps, schema_editor):  # type: ignore[no-untyped-def]
    LedgerEntry = apps.get_model("brokerage", "LedgerEntry")
    User = apps.get_model("users", "User")
    Position = apps.get_model("users", "Position")
    Stock = apps.get_model("stocks", "Stock")
    entries = [
        LedgerEntry(user_id=pk, kind="opening", amount=cash, balance_after=cash)
        for pk, cash in User.objects.exclude(cash=0).values_list("pk", "cash")
    ]
    entries += [
        LedgerEntry(user_id=u, stock_id=s, kind="opening", amount=q, balance_after=q)
        for u, s, q in Position.objects.exclude(quantity=0).values_list(
            "user_id", "stock_id", "quantity"
        )
    ]
    entries += [
        LedgerEntry(stock_id=pk, kind="opening", amount=amount, balance_after=amount)
        for pk, amount in Stock.objects.exclude(amount=0).values_list("pk", "amount")
    ]
    LedgerEntry.objects.bulk_create(entries, batch_size=5000)


class Migration(migrations.Migration):
    dependencies = [
        ("brokerage", "0002_ledger"),
        ("users", "0001_initial"),
        ("stocks", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(open_balances, migrations.RunPython.noop),
        migrations.RunSQL(APPEND_ONLY, DROP_APPEND_ONLY),
    ]
