"""The document's two texts stored after its other columns on SQLite (issue 20); nothing
on PostgreSQL.

SQLite keeps a row's columns in their declared order and a value too long for the row's
page in a chain of overflow pages, each naming the next. To read a column that follows a
long value, SQLite walks that value's chain to the column's bytes. ``text`` and
``raw_text`` were the third and sixth columns, so every read of a document's metadata
(the claim service's window read with the membership, the reader's page, a verdict's
document) walked both chains: on the 1,000,000-character BOOK, reading ``source_url``
took 0.59 ms against 0.007 ms on an 8,000-character article, and a span claim's document
read 0.95 to 1.0 ms against 0.10 ms. With the texts last the same read takes 0.13 to 0.15 ms
(a window comes from ``DocumentTextChunk``, not from ``text``).

``MoveFieldsLast`` moves the fields to the end of the model's migration state, so a later
rebuild of the table (SQLite remakes a table for most schema changes) keeps them last, and
rebuilds the table on SQLite in that order. On PostgreSQL a long value is stored out of
line behind a pointer of a few bytes (TOAST), so column order does not matter and nothing
is done. A column added later with ``AddField`` is appended after the texts:
``tests/test_text_columns_last.py`` fails then, so the fields are moved again.
"""

from django.db import migrations


class MoveFieldsLast(migrations.operations.base.Operation):
    """Put ``fields`` (in the order given) after the model's other fields, in the state and
    in SQLite's table."""

    reduces_to_sql = False
    reversible = True

    def __init__(self, model_name: str, fields: list[str]) -> None:
        self.model_name = model_name
        self.fields = list(fields)

    def deconstruct(self):
        return (self.__class__.__name__, [], {"model_name": self.model_name, "fields": self.fields})

    def state_forwards(self, app_label, state):
        key = (app_label, self.model_name.lower())
        model_state = state.models[key]
        order = [name for name in model_state.fields if name not in self.fields] + self.fields
        model_state.fields = {name: model_state.fields[name] for name in order}
        state.reload_model(*key, delay=True)

    def _remake(self, app_label, schema_editor, state):
        if schema_editor.connection.vendor == "sqlite":
            # Django's own rebuild of a SQLite table (what AlterField runs): a new table
            # with the state's columns in order, the rows copied, indexes and constraints
            # made again.
            schema_editor._remake_table(state.apps.get_model(app_label, self.model_name))

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        self._remake(app_label, schema_editor, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        self._remake(app_label, schema_editor, to_state)

    def describe(self):
        return f"Move {', '.join(self.fields)} to the end of {self.model_name}"

    @property
    def migration_name_fragment(self):
        return f"{self.model_name.lower()}_{'_'.join(self.fields)}_last"


class Migration(migrations.Migration):
    dependencies = [("annotations", "0027_document_text_chunks_existing")]

    operations = [MoveFieldsLast("Document", ["text", "raw_text"])]
