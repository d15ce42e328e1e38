"""The audit trail becomes a hash chain per project (issue 14, deliverable 5).

Every Event gets ``seq`` (its position in its project's chain; events without a project
form one global chain), ``prev_hash`` and ``hash`` (SHA-256 of its canonical content), and
every chain an ``AuditHead`` row that writers lock to append. Existing events are chained
in id order, hashing their values as stored, so an old database verifies
(``manage.py verify_audit``). ``created_at`` is now set by the writer (the hash covers it).

The canonical form is ``annotations.core.auditchain`` version 1, frozen here (migrations
import nothing of the app but the models, and must not change with later code);
``tests/test_migrations.py`` checks the backfilled chains with the live module.
"""

import datetime as dt
import hashlib
import json
import math

import django.utils.timezone
from django.db import migrations, models
from django.db.models import Q

GENESIS = "0" * 64


def _key(key):
    if isinstance(key, str):
        return key
    return json.dumps(key) if isinstance(key, bool | int | float) or key is None else str(key)


def _normal(value):
    if value is None or isinstance(value, bool | str | int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("The audit chain holds finite numbers only.")
        return int(value) if value.is_integer() else value
    if isinstance(value, dict):
        return {_key(key): _normal(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_normal(item) for item in value]
    raise TypeError(type(value).__name__)


def _hash_v1(event, seq, prev_hash):
    created_at = event.created_at
    if created_at.tzinfo is None:
        created_at = created_at.replace(tzinfo=dt.UTC)
    content = {
        "v": 1,
        "project": event.project_id,
        "seq": seq,
        "actor": event.actor_id,
        "verb": event.verb,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "before": _normal(event.before),
        "after": _normal(event.after),
        "created_at": created_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "prev_hash": prev_hash,
    }
    data = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(data.encode("ascii")).hexdigest()


def chain_existing_events(apps, schema_editor):
    Event = apps.get_model("annotations", "Event")
    AuditHead = apps.get_model("annotations", "AuditHead")
    heads = {}  # chain key (project id, 0 = global) -> (seq, hash)
    batch = []
    last_id = 0
    while True:
        events = list(Event.objects.filter(pk__gt=last_id).order_by("pk")[:2000])
        if not events:
            break
        for event in events:
            key = event.project_id or 0
            seq, prev_hash = heads.get(key, (0, GENESIS))
            event.seq = seq + 1
            event.prev_hash = prev_hash
            event.hash = _hash_v1(event, event.seq, prev_hash)
            heads[key] = (event.seq, event.hash)
            batch.append(event)
        Event.objects.bulk_update(batch, ["seq", "prev_hash", "hash"], batch_size=500)
        batch.clear()
        last_id = events[-1].pk
    AuditHead.objects.bulk_create(
        AuditHead(chain=key, seq=seq, hash=hash_) for key, (seq, hash_) in heads.items()
    )


def unchain(apps, schema_editor):
    apps.get_model("annotations", "AuditHead").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("annotations", "0009_claim_lifecycle"),
    ]

    operations = [
        migrations.AlterField(
            model_name="event",
            name="created_at",
            field=models.DateTimeField(
                db_index=True, default=django.utils.timezone.now, editable=False
            ),
        ),
        migrations.AddField(
            model_name="event",
            name="seq",
            field=models.PositiveBigIntegerField(
                null=True, help_text="Position in its project's audit chain, from 1."
            ),
        ),
        migrations.AddField(
            model_name="event",
            name="prev_hash",
            field=models.CharField(
                default="", help_text="Hash of the previous event of the chain.", max_length=64
            ),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="event",
            name="hash",
            field=models.CharField(
                default="", help_text="SHA-256 of this event's canonical content.", max_length=64
            ),
            preserve_default=False,
        ),
        migrations.CreateModel(
            name="AuditHead",
            fields=[
                ("chain", models.PositiveBigIntegerField(primary_key=True, serialize=False)),
                ("seq", models.PositiveBigIntegerField(default=0)),
                ("hash", models.CharField(max_length=64)),
            ],
            options={"ordering": ["chain"]},
        ),
        migrations.RunPython(chain_existing_events, unchain),
        migrations.AlterField(
            model_name="event",
            name="seq",
            field=models.PositiveBigIntegerField(
                help_text="Position in its project's audit chain, from 1."
            ),
        ),
        migrations.AddConstraint(
            model_name="event",
            constraint=models.UniqueConstraint(
                fields=("project", "seq"), name="annotations_event_chain_seq"
            ),
        ),
        migrations.AddConstraint(
            model_name="event",
            constraint=models.UniqueConstraint(
                condition=Q(project__isnull=True),
                fields=("seq",),
                name="annotations_event_global_chain_seq",
            ),
        ),
        migrations.AddConstraint(
            model_name="event",
            constraint=models.CheckConstraint(
                condition=Q(seq__gte=1), name="annotations_event_seq_positive"
            ),
        ),
    ]
