"""``Claim.updated_at`` becomes ``models.UpdatedAtField``: a new claim's value is its
``created_at`` to the microsecond. Python only: the column is the same ``datetime`` /
``timestamp with time zone`` (state alone, so SQLite does not rebuild the claim table)."""

import annotations.models
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("annotations", "0028_document_text_columns_last"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="claim",
                    name="updated_at",
                    field=annotations.models.UpdatedAtField(auto_now=True),
                ),
            ],
            database_operations=[],
        ),
    ]
