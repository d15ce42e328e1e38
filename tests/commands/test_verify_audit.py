"""manage.py verify_audit: rows edited, deleted or reordered behind the services' back (raw
SQL) are named, first one first; a downloaded log verifies without the database."""

from __future__ import annotations

import json
import tempfile
from io import StringIO
from pathlib import Path

from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import TestCase

from annotations import selectors
from annotations.models import AuditHead, Event
from tests.factories import Personas, judge, make_claim

TABLE = Event._meta.db_table


def sql(statement: str, *params: object) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement.replace("{t}", connection.ops.quote_name(TABLE)), params)


class VerifyAuditTests(Personas, TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_personas(required_reviews=2)
        claim = make_claim(document=cls.document, actor=cls.creator, exact="crime fell 20%")
        judge(claim, cls.reviewer_a, "false", rationale="Police figures say otherwise.")
        judge(claim, cls.reviewer_b, "true")

    def event(self, seq: int) -> Event:
        return Event.objects.get(project=self.project, seq=seq)

    def verify(self, *args: str) -> str:
        out = StringIO()
        try:
            call_command("verify_audit", *args, stdout=out, stderr=StringIO())
        finally:
            self.last_output = out.getvalue()
        return self.last_output

    def verify_fails(self, *args: str) -> str:
        with self.assertRaises(CommandError) as caught:
            self.verify(*args)
        self.assertEqual(caught.exception.returncode, 1)
        return self.last_output

    def test_an_intact_database_verifies_with_one_line_per_chain(self) -> None:
        out = self.verify()
        lines = out.strip().splitlines()
        self.assertEqual(len(lines), 2, out)  # the two projects of the cast
        head = AuditHead.objects.get(chain=self.project.pk)
        self.assertIn(
            f"OK project '{self.project.slug}': {head.seq} events, head seq {head.seq} hash {head.hash}",
            out,
        )
        self.assertIn("OK project", self.verify("--project", self.project.slug))

    def test_an_edited_row_is_named(self) -> None:
        target = self.event(8)
        sql("UPDATE {t} SET after = %s WHERE id = %s", json.dumps({"rating": "true"}), target.pk)
        out = self.verify_fails("--project", self.project.slug)
        self.assertIn(
            f"TAMPERED project '{self.project.slug}': edited: event {target.pk} (seq 8,", out
        )
        self.assertIn("7 events verified before it", out)

    def test_an_edited_actor_or_time_is_named_too(self) -> None:
        target = self.event(5)
        sql("UPDATE {t} SET actor_id = %s WHERE id = %s", self.outsider.pk, target.pk)
        self.assertIn(f"edited: event {target.pk} (seq 5,", self.verify_fails())
        sql("UPDATE {t} SET actor_id = %s WHERE id = %s", target.actor_id, target.pk)
        self.verify()
        later = self.event(6)
        sql(
            "UPDATE {t} SET created_at = %s WHERE id = %s",
            later.created_at.replace(microsecond=(later.created_at.microsecond + 1) % 10**6),
            later.pk,
        )
        self.assertIn(f"edited: event {later.pk} (seq 6,", self.verify_fails())

    def test_a_deleted_row_is_named_at_the_gap(self) -> None:
        gone, after = self.event(6), self.event(7)
        sql("DELETE FROM {t} WHERE id = %s", gone.pk)
        out = self.verify_fails()
        self.assertIn(f"deleted: event {after.pk} (seq 7,", out)
        self.assertIn("seq 6 is missing here", out)

    def test_deleting_the_newest_rows_shows_against_the_head(self) -> None:
        head = AuditHead.objects.get(chain=self.project.pk)
        sql("DELETE FROM {t} WHERE project_id = %s AND seq > %s", self.project.pk, head.seq - 2)
        out = self.verify_fails()
        self.assertIn(f"truncated: the chain head records seq {head.seq}", out)
        self.assertIn(f"the last event is seq {head.seq - 2}: events after it were deleted", out)

    def test_reordered_rows_are_named_at_the_first_moved_one(self) -> None:
        first, second = self.event(4), self.event(9)
        # Swap their places in the chain (through a free number: seq is unique).
        sql("UPDATE {t} SET seq = %s WHERE id = %s", 10**9, first.pk)
        sql("UPDATE {t} SET seq = %s WHERE id = %s", 4, second.pk)
        sql("UPDATE {t} SET seq = %s WHERE id = %s", 9, first.pk)
        out = self.verify_fails()
        self.assertIn(f"reordered: event {second.pk} (seq 4,", out)
        self.assertIn("3 events verified before it", out)

    def test_a_rewritten_tail_is_caught_against_a_kept_head(self) -> None:
        kept = AuditHead.objects.get(chain=self.project.pk)
        anchor = f"{kept.seq}:{kept.hash}"
        self.verify("--project", self.project.slug, "--anchor", anchor)
        # A database administrator edits an event and rehashes every event after it,
        # head included: the chain verifies on its own...
        target = self.event(8)
        sql("UPDATE {t} SET after = %s WHERE id = %s", json.dumps({"rating": "true"}), target.pk)
        _rehash_from(self.project.pk, 8)
        self.verify("--project", self.project.slug)
        # ...but not against the head kept before.
        out = self.verify_fails("--project", self.project.slug, "--anchor", anchor)
        self.assertIn(
            f"anchor: event {Event.objects.get(project=self.project, seq=kept.seq).pk}", out
        )

    def test_the_downloaded_file_verifies_without_the_database(self) -> None:
        lines = [json.dumps(row) for row in selectors.audit_rows(project=self.project)]
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "audit.jsonl"
            path.write_text("\n".join(lines) + "\n", encoding="utf-8")
            out = self.verify("--file", str(path))
            self.assertIn(f"OK {path}: {len(lines) - 1} events", out)
            row = json.loads(lines[5])
            row["actor"] = self.outsider.pk
            tampered = [*lines[:5], json.dumps(row), *lines[6:]]
            path.write_text("\n".join(tampered) + "\n", encoding="utf-8")
            out = self.verify_fails("--file", str(path))
            self.assertIn(f"edited: event {row['id']} (seq {row['seq']},", out)
            path.write_text("\n".join(lines[:-1]) + "\n", encoding="utf-8")
            self.assertIn("truncated", self.verify_fails("--file", str(path)))

    def test_bad_arguments_are_refused(self) -> None:
        with self.assertRaisesMessage(CommandError, "No project with slug 'nope'"):
            self.verify("--project", "nope")
        with self.assertRaisesMessage(CommandError, "--anchor takes SEQ:HASH"):
            self.verify("--project", self.project.slug, "--anchor", "12")
        with self.assertRaisesMessage(CommandError, "Cannot read"):
            self.verify("--file", "/nonexistent/audit.jsonl")


def _rehash_from(project_id: int, seq: int) -> None:
    """What someone with write access could do: recompute every hash from ``seq`` on."""
    from annotations.core import auditchain

    entries = list(selectors.audit_entries(project_id=project_id))
    prev = entries[seq - 2].hash if seq > 1 else auditchain.GENESIS
    for entry in entries[seq - 1 :]:
        fixed = auditchain.Entry(**{**entry.__dict__, "prev_hash": prev, "hash": ""})
        new_hash = auditchain.entry_hash(fixed)
        sql("UPDATE {t} SET prev_hash = %s, hash = %s WHERE id = %s", prev, new_hash, entry.id)
        prev = new_hash
    AuditHead.objects.filter(chain=project_id).update(hash=prev)
