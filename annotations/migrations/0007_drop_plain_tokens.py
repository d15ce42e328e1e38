"""Drop DRF's clear-text API tokens (issue 13, finding 2).

``rest_framework.authtoken`` kept each key in clear in ``authtoken_token``: a copy of the
database was a set of working credentials, and a key never changed or died. Tokens are now
django-rest-knox rows, stored hashed (``annotations.services.tokens``), and the app is no
longer installed, so nothing would drop its table: this does, keys and all, and forgets its
migrations (were the app ever installed again, its table would be made anew, empty).
Clients get a new token from ``POST /api/v1/auth/token/`` or the token page.

Irreversible in substance: going back leaves the table gone (no key can be restored).
The content type "authtoken | token" and its permissions hold no secret; ``manage.py
remove_stale_contenttypes`` removes them.
"""

from django.db import migrations
from django.db.migrations.recorder import MigrationRecorder


def forget_authtoken_migrations(apps, schema_editor):
    MigrationRecorder(schema_editor.connection).migration_qs.filter(app="authtoken").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("annotations", "0006_source_project_required"),
    ]

    operations = [
        migrations.RunSQL(
            "DROP TABLE IF EXISTS authtoken_token", reverse_sql=migrations.RunSQL.noop
        ),
        migrations.RunPython(forget_authtoken_migrations, migrations.RunPython.noop),
    ]
