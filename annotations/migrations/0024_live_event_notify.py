"""Live updates: on PostgreSQL, a NOTIFY on channel ``workbench_events`` for every insert
into the event table, with ``<project id>:<last seq>`` of each project the statement wrote
to (one notification per statement and project, however many rows a bulk import inserts).
PostgreSQL delivers it when the writing transaction commits, and drops it on rollback, so
a listener never hears of an event it cannot read yet. The app's listener
(``workbench/live.py``) wakes the event streams of that project. Nothing on SQLite: the
streams poll there."""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION annotations_event_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('workbench_events', project_id::text || ':' || max(seq)::text)
    FROM new_events WHERE project_id IS NOT NULL GROUP BY project_id;
    RETURN NULL;
END
$$;
CREATE TRIGGER annotations_event_notify
AFTER INSERT ON annotations_event
REFERENCING NEW TABLE AS new_events
FOR EACH STATEMENT EXECUTE FUNCTION annotations_event_notify();
"""

DROP = """
DROP TRIGGER IF EXISTS annotations_event_notify ON annotations_event;
DROP FUNCTION IF EXISTS annotations_event_notify();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("annotations", "0023_lang_detect_existing")]

    operations = [migrations.RunPython(forward, backward)]
