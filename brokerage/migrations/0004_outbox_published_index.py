"""An index for the outbox retention purge, built without blocking the outbox's writers
(CONCURRENTLY, so outside a transaction) and without the connection's statement and lock
timeouts, which a large table could outlast."""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models
from django.db.models import Q


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("brokerage", "0003_ledger_append_only_and_opening"),
    ]

    operations = [
        migrations.RunSQL(
            "SET statement_timeout = 0; SET lock_timeout = 0;",
            reverse_sql="RESET statement_timeout; RESET lock_timeout;",
        ),
        AddIndexConcurrently(
            model_name="outboxevent",
            index=models.Index(
                condition=Q(published_at__isnull=False),
                fields=["published_at"],
                name="outbox_published",
            ),
        ),
        migrations.RunSQL(
            "RESET statement_timeout; RESET lock_timeout;",
            reverse_sql="SET statement_timeout = 0; SET lock_timeout = 0;",
        ),
    ]
