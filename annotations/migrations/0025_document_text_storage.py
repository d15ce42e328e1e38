"""Document text storage on PostgreSQL (issue 20); nothing on SQLite.

* ``text``: ``STORAGE EXTERNAL``, out of line and uncompressed once a row is over the
  TOAST threshold (about 2 kB). The reader and claim creation read a window of it with
  ``substr``, which then fetches only the TOAST chunks that hold the window; a compressed
  text is decompressed from its start up to the window (a window at the end of a 1 MB
  book took 46 ms, at its start 0.2 ms). Uncompressed also means no compression work on
  insert (a bulk import of 500 articles spent most of its database time in it). The cost
  is disk: a text takes its UTF-8 size (an English article compresses to about half).
* ``raw_text``: kept compressed (it is provenance, read whole and rarely), with LZ4
  instead of pglz where the server is built with it: several times faster to compress.

``ALTER … SET STORAGE`` and ``SET COMPRESSION`` only change how values are stored from
now on; rows keep their stored form until rewritten. This migration rewrites the texts
that gain from it: the compressed texts of documents longer than ``REWRITE_MIN_CHARS``
(whose windows far from the start cost milliseconds each), those rows only, 50 per
statement. The migration is not atomic: the ``ALTER``s (which take the table's ACCESS
EXCLUSIVE lock) commit at once, and each batch of the rewrite commits on its own with row
locks only, so readers of other documents never wait for the rewrite.
Shorter texts are left as they are: a window of a compressed 8,000-character article costs
about what an uncompressed one does, and rewriting every row of a large table would hold
its row locks and write all of it again to the WAL for no gain. Reverting sets the
defaults again (``EXTENDED``, the server's default compression) without rewriting.
"""

from django.db import migrations

# Texts at least this long are rewritten when stored compressed (see the module docstring).
REWRITE_MIN_CHARS = 100_000

FORWARD = """
ALTER TABLE annotations_document ALTER COLUMN text SET STORAGE EXTERNAL;
DO $$
BEGIN
    IF EXISTS (
        SELECT 1 FROM pg_settings
        WHERE name = 'default_toast_compression' AND 'lz4' = ANY (enumvals)
    ) THEN
        ALTER TABLE annotations_document ALTER COLUMN raw_text SET COMPRESSION lz4;
    END IF;
END
$$;
"""

REWRITE_BATCH = 50
TO_REWRITE = """
SELECT id FROM annotations_document
WHERE length >= %s AND pg_column_compression(text) IS NOT NULL ORDER BY id
"""
REWRITE = "UPDATE annotations_document SET text = text || '' WHERE id = ANY(%s)"

BACKWARD = """
ALTER TABLE annotations_document ALTER COLUMN text SET STORAGE EXTENDED;
ALTER TABLE annotations_document ALTER COLUMN raw_text SET COMPRESSION DEFAULT;
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD)
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(TO_REWRITE, [REWRITE_MIN_CHARS])
            ids = [row[0] for row in cursor.fetchall()]
        for start in range(0, len(ids), REWRITE_BATCH):
            schema_editor.execute(REWRITE, [ids[start : start + REWRITE_BATCH]])


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD)


class Migration(migrations.Migration):
    atomic = False  # see the module docstring
    dependencies = [("annotations", "0024_live_event_notify")]

    operations = [migrations.RunPython(forward, backward)]
