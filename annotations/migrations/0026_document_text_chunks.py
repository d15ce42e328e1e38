"""Long documents' text also as chunks (``DocumentTextChunk``, ``core.textchunks``).

Reading a window of a text with ``substr`` costs time in the window's position (on a
1,000,000-character document, 4.7-6.1 ms at position 900,000 against 0.1-0.2 ms at 10 on
PostgreSQL). The chunks are read instead; 0027 writes them for the documents there are.
On PostgreSQL the chunks' text is ``STORAGE EXTERNAL`` like the document's (0025): a
chunk is read whole, and uncompressed it needs no decompression.
"""

import django.db.models.deletion
from django.db import migrations, models


def storage_external(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "ALTER TABLE annotations_documenttextchunk ALTER COLUMN text SET STORAGE EXTERNAL"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("annotations", "0025_document_text_storage"),
    ]

    operations = [
        migrations.CreateModel(
            name="DocumentTextChunk",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("seq", models.PositiveIntegerField()),
                ("text", models.TextField()),
                (
                    "document",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="text_chunks",
                        to="annotations.document",
                    ),
                ),
            ],
            options={
                "ordering": ["document_id", "seq"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("document", "seq"), name="annotations_doctextchunk_unique_seq"
                    )
                ],
            },
        ),
        migrations.RunPython(storage_external, migrations.RunPython.noop),
    ]
