"""DRF's plaintext tokens become hashed ApiTokens; the plaintext leaves the database.

Each `authtoken_token` row becomes an ApiToken holding the SHA-256 of the same key, so
clients keep sending the key they have. Then DRF's table is dropped, and its migration
records with it: `rest_framework.authtoken` is no longer installed, and should it ever be
again (or this code be rolled back), its migrations recreate an empty table instead of
assuming one.

Converted tokens expire AUTH_TOKEN_TTL seconds after this migration (0: never), not after
they were first issued: a production default of 30 days must not cut off, on the day of
the upgrade, every client that had logged in earlier.
"""

import hashlib
from datetime import timedelta

from django.conf import settings
from django.db import migrations
from django.utils import timezone

DRF_TABLE = "authtoken_token"


def hash_drf_tokens(apps, schema_editor):
    connection = schema_editor.connection
    if DRF_TABLE not in connection.introspection.table_names():
        return  # a database created after DRF's tokens were gone
    ApiToken = apps.get_model("users", "ApiToken")
    lifetime = settings.AUTH_TOKEN_TTL
    expires_at = timezone.now() + timedelta(seconds=lifetime) if lifetime > 0 else None
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT key, user_id, created FROM {DRF_TABLE}")  # noqa: S608
        rows = cursor.fetchall()
    ApiToken.objects.using(connection.alias).bulk_create(
        ApiToken(
            user_id=user_id,
            name="issued before hashing",
            prefix=key[:8],
            digest=hashlib.sha256(key.encode()).hexdigest(),
            created_at=created,
            expires_at=expires_at,
        )
        for key, user_id, created in rows
    )
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {DRF_TABLE}")
        cursor.execute("DELETE FROM django_migrations WHERE app = 'authtoken'")


class Migration(migrations.Migration):
    dependencies = [
        ("users", "0002_api_token"),
    ]

    operations = [
        # Backwards: the keys cannot be recovered from their hashes; clients log in again.
        migrations.RunPython(hash_drf_tokens, migrations.RunPython.noop),
    ]
