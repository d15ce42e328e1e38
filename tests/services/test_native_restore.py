"""The lossless project export (``workbench-export/2``, ``selectors.project_native``) and
its restore (``services.project_restore_native``), issue 14 deliverable 7.

The demo desk with a history (a corrected document text, an editor's claim revision, a
post-reveal verdict, an adjudication, a publication, a lease in progress) is exported,
the database is flushed, the export restored: ``check_integrity``'s invariants and the
audit chain hold, and a second export is byte-identical but for ``exported_at``. A file
whose audit chain was tampered with, a database that is not empty and an account clash
are refused with nothing written; the export is for editors and admins only.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
from io import StringIO
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.test import TransactionTestCase

from annotations import selectors, services
from annotations.core import export_mapping, triage
from annotations.management.commands.load_demo import demo_citations
from annotations.models import (
    AuditHead,
    Claim,
    ClaimAnchor,
    Document,
    Event,
    LinkState,
    Project,
    Reference,
    RepeatSuggestion,
    Suggestion,
    SuggestionDecision,
    Verdict,
)
from tests.factories import judge, take


def build_history() -> Project:
    """The demo desk (its first claim published by load_demo), then: claim 1 resolved, revised by the editor into version 2,
    judged again and published; claim 2 disputed, a post-reveal revision, adjudicated;
    claim 3 leased; the document's text corrected (claims move, anchors kept). Every
    verdict carries the quoted citation the demo's evidence policy requires."""
    call_command("load_demo", stdout=StringIO(), stderr=StringIO())
    project = Project.objects.get(slug="demo")
    users = get_user_model().objects
    editor, r1, r2 = (users.get(username=name) for name in ("editor", "reviewer1", "reviewer2"))
    # The demo publishes its first claim (load_demo); the history starts on the others.
    first, second, third = Claim.objects.filter(project=project, status="in_review").order_by("id")[
        :3
    ]
    judge(first, r1, "true", citations=demo_citations())
    judge(first, r2, "true", citations=demo_citations())
    judge(second, r1, "mostly_false", citations=demo_citations())
    judge(second, r2, "true", citations=demo_citations())
    services.verdict_submit(
        claim=second,
        reviewer=r2,
        rating="mostly_false",
        confidence="high",
        citations=demo_citations(),
    )
    services.claim_adjudicate(claim=second, editor=editor, rating="mostly_false", note="Agreed.")
    first = Claim.objects.get(pk=first.pk)
    services.claim_revise(
        claim=first,
        actor=editor,
        expected_version=first.version,
        statement="Seoul and Beijing agreed in late October.",
        note="The statement named one side only.",
    )
    judge(first, r1, "mostly_true", citations=demo_citations())
    judge(first, r2, "mostly_true", citations=demo_citations())
    services.claim_publish(
        claim=Claim.objects.get(pk=first.pk),
        editor=editor,
        summary="Checked against the official figures.",
    )
    take(third, r1)
    # The desk's workflow: a priority and deadline, a slot reserved for a named reviewer.
    services.claim_schedule(
        claim=Claim.objects.get(pk=third.pk),
        actor=editor,
        priority="urgent",
        due_at=dt.datetime(2031, 5, 4, 12, 30, tzinfo=dt.UTC),
    )
    fourth = Claim.objects.filter(project=project, status="in_review").exclude(
        pk__in=[first.pk, second.pk, third.pk]
    )[0]
    services.claim_assign(claim=fourth, editor=editor, usernames=["reviewer3"])
    # A discussion: a reviewer's blind comment (withdrawn later by its author) and an
    # editor's note to everyone mentioning a reviewer.
    blind = services.comment_create(
        claim=second, author=r1, body="Figures from 2019 https://a.example/"
    )
    services.comment_create(
        claim=second, author=editor, body="@reviewer2 see", visibility="everyone"
    )
    services.comment_withdraw(comment=blind, actor=r1)
    # A claimant registry with a merge into a later row (restored in id order).
    president = services.claimant_create(
        project=project, name="The President", actor=editor, aliases=["POTUS"]
    )
    yoon = services.claimant_create(
        project=project, name="Yoon Suk Yeol", actor=editor, kind="person"
    )
    services.claimant_merge(claimant=president, into=yoon, actor=editor)
    document = Document.objects.get(project=project)
    # Finding claims: a reference quoting a sentence of the article (so the repeat scan
    # finds it), links to it and to an earlier claim, a triage run with two decisions, all
    # on revision 1 of the text (the correction below keeps that revision).
    sentence = next(s for s in triage.split_sentences(document.text) if len(s.text) > 60)
    (reference,) = services.references_create(
        project=project,
        items=[
            services.ReferenceInput(
                claim_reviewed=sentence.text,
                headline="Checked before",
                url="https://factcheck.example/checked-before",
                rating="Mostly true",
                publisher="Another desk",
            )
        ],
        actor=editor,
    )
    services.claim_link_create(claim=third, actor=editor, reference=reference, score=0.9)
    services.claim_link_create(claim=second, actor=editor, target=first, state=LinkState.CONFIRMED)
    services.repeats_scan(document_id=document.pk)
    run = services.suggestions_store(document_id=document.pk)
    assert run is not None
    for item in run.suggestions.order_by("-score", "start")[:2]:
        services.suggestion_dismiss(
            document=document, actor=editor, start=item.start, end=item.end, reason="Opinion."
        )
    services.document_revise(
        document=document, text="Updated: " + document.text, actor=editor, note="Dateline."
    )
    return project


def admin() -> Any:
    return get_user_model().objects.get(username="admin")


def dumps(payload: dict[str, Any]) -> str:
    return export_mapping.json_dumps_safe(payload)


def without_time(text: str) -> str:
    """An export's text without its one varying field, ``exported_at``."""
    return re.sub(r'"exported_at": "[^"]*"', '"exported_at": ""', text, count=1)


class LosslessExportTests(TransactionTestCase):
    def setUp(self) -> None:
        self.project = build_history()
        self.payload = selectors.project_native(project=self.project, user=admin())

    def test_the_export_carries_every_row_and_the_audit_chain(self) -> None:
        payload = self.payload
        self.assertEqual(export_mapping.native_errors(payload, version=2), [])
        self.assertEqual(payload["schema"], "workbench-export/2")
        self.assertEqual(payload["project"]["id"], self.project.pk)
        # Document revisions: the superseded text.
        [revision] = payload["document_revisions"]
        self.assertEqual(revision["number"], 1)
        self.assertFalse(revision["text"].startswith("Updated: "))
        self.assertEqual(payload["documents"][0]["revision"], 2)
        # Anchor history: the claims moved by the correction.
        self.assertEqual(len(payload["claim_anchors"]), ClaimAnchor.objects.count())
        self.assertTrue(payload["claim_anchors"])
        # Claim versions: the editor's revision of claim 1.
        [version] = payload["claim_versions"]
        self.assertEqual((version["number"], version["status"]), (1, "resolved"))
        # Every verdict revision, with its flags and the versions it judged.
        self.assertEqual(len(payload["verdicts"]), Verdict.objects.count())
        self.assertEqual(
            {(v["claim_version"], v["is_current"], v["post_reveal"]) for v in payload["verdicts"]},
            {(1, False, False), (1, True, False), (1, True, True), (2, True, False)},
        )
        self.assertEqual({v["document_revision"] for v in payload["verdicts"]}, {1})
        # Consensus history: superseded records stay, with the verdicts they rest on.
        records = payload["consensus"]
        self.assertEqual({r["is_current"] for r in records}, {True, False})
        self.assertTrue(all(r["verdicts"] for r in records if r["method"] != "adjudicated"))
        claims = {claim["id"]: claim for claim in payload["claims"]}
        current = {r["id"] for r in records if r["is_current"]}
        self.assertEqual({c["consensus"] for c in claims.values() if c["consensus"]}, current)
        # The audit chain, hashes and all, up to its head.
        events = payload["audit"]["events"]
        self.assertEqual(len(events), Event.objects.filter(project=self.project).count())
        self.assertEqual([e["seq"] for e in events], list(range(1, len(events) + 1)))
        head = AuditHead.objects.get(chain=self.project.pk)
        self.assertEqual(payload["audit"]["head"], {"seq": head.seq, "hash": head.hash})
        self.assertEqual(events[-1]["hash"], head.hash)
        # Every account a row or an event names, with its id.
        ids = {user["id"] for user in payload["users"]}
        self.assertTrue({e["actor"] for e in events if e["actor"]} <= ids)
        # Leases: eight ended by a verdict (two of them the demo's published claim), one held.
        self.assertEqual(
            sorted(a["state"] for a in payload["assignments"]), ["leased"] + ["submitted"] * 8
        )
        # Publication versions: the demo's published claim and claim 1 of the history.
        self.assertEqual(
            [(p["number"], p["kind"]) for p in payload["publications"]],
            [(1, "publish"), (1, "publish")],
        )
        self.assertIs(payload["project"]["publishing_enabled"], True)
        # The claimant registry: the merged entry points at the one kept, which has every name.
        merged, kept = payload["claimants"]
        self.assertEqual(merged["merged_into"], kept["id"])
        self.assertEqual(
            sorted((n["name"], n["claimant"], n["is_primary"]) for n in payload["claimant_names"]),
            [
                ("POTUS", kept["id"], False),
                ("The President", kept["id"], False),
                ("Yoon Suk Yeol", kept["id"], True),
            ],
        )
        # The workflow: priority, deadline and the reserved slot.
        urgent = [c for c in payload["claims"] if c["priority"] == 1]
        self.assertEqual([c["due_at"] for c in urgent], ["2031-05-04T12:30:00.000000Z"])
        [reservation] = payload["reservations"]
        self.assertEqual(
            (reservation["reviewer"], reservation["assigned_by"]), ("reviewer3", "editor")
        )
        # Finding claims: every reference, link, repeat, triage run and decision, as stored.
        self.assertEqual(
            [(r["claim_reviewed"][:20], r["url"]) for r in payload["references"]],
            [(r.claim_reviewed[:20], r.url) for r in Reference.objects.order_by("pk")],
        )
        self.assertNotIn("vector", payload["references"][0])
        self.assertEqual(
            sorted((link["state"], bool(link["reference"])) for link in payload["claim_links"]),
            [("confirmed", False), ("suggested", True)],
        )
        self.assertEqual(len(payload["repeat_suggestions"]), RepeatSuggestion.objects.count())
        self.assertEqual(
            payload["repeat_suggestions"][0]["reference"], payload["references"][0]["id"]
        )
        self.assertEqual(len(payload["suggestions"]), Suggestion.objects.count())
        self.assertGreater(len(payload["suggestions"]), 10)
        self.assertEqual(
            [(d["decision"], d["reason"], d["revision"]) for d in payload["suggestion_decisions"]],
            [("dismissed", "Opinion.", 1)] * 2,
        )
        self.assertEqual(SuggestionDecision.objects.count(), 2)
        self.assertEqual(payload["project"]["triage_url"], "")
        # The discussion, withdrawn comments with their text (the export is editors' only).
        self.assertEqual(
            [(c["author"], c["visibility"], c["withdrawn_by"]) for c in payload["comments"]],
            [("reviewer1", "judged", "reviewer1"), ("editor", "everyone", None)],
        )
        self.assertEqual(payload["comments"][0]["body"], "Figures from 2019 https://a.example/")
        # The demo desk's evidence policy: one quoted citation, any stance.
        self.assertEqual(
            payload["project"]["evidence_policy"],
            {
                "min_citations": 1,
                "quote_required": True,
                "allowed_stances": ["supports", "refutes", "context"],
            },
        )

    def test_the_evidence_policy_round_trips(self) -> None:
        project = services.project_update(
            project=self.project,
            actor=admin(),
            min_citations=2,
            allowed_stances=["refutes", "supports"],
        )
        payload = json.loads(dumps(selectors.project_native(project=project, user=admin())))
        self.assertEqual(
            payload["project"]["evidence_policy"],
            {
                "min_citations": 2,
                "quote_required": True,
                "allowed_stances": ["supports", "refutes"],
            },
        )
        call_command("flush", interactive=False, verbosity=0)
        restored = services.project_restore_native(payload=payload)
        self.assertEqual(
            (restored.min_citations, restored.quote_required, restored.allowed_stances),
            (2, True, "supports,refutes"),
        )
        # The restore is not refused by verdicts the policy would refuse now (one citation).
        self.assertEqual(Verdict.objects.count(), len(payload["verdicts"]))

    def test_an_export_from_before_the_evidence_policy_restores_with_the_open_one(self) -> None:
        payload = json.loads(dumps(self.payload))
        del payload["project"]["evidence_policy"]
        # ... and from before priorities and deadlines: normal, no deadline.
        for claim in payload["claims"]:
            del claim["priority"], claim["due_at"]
        # ... and from before documents had a direction: the browser goes by the text.
        self.assertEqual({d.pop("direction") for d in payload["documents"]}, {"ltr"})
        self.assertEqual(export_mapping.native_errors(payload, version=2), [])
        call_command("flush", interactive=False, verbosity=0)
        restored = services.project_restore_native(payload=payload)
        self.assertEqual(
            (restored.min_citations, restored.quote_required, restored.allowed_stances),
            (0, False, "supports,refutes,context"),
        )
        self.assertEqual(set(Claim.objects.values_list("priority", "due_at")), {(3, None)})
        self.assertEqual(set(Document.objects.values_list("direction", flat=True)), {"auto"})

    def test_a_restore_into_an_empty_database_gives_the_same_export(self) -> None:
        text = dumps(self.payload)
        call_command("flush", interactive=False, verbosity=0)
        self.assertFalse(Project.objects.exists())

        restored = services.project_restore_native(payload=json.loads(text))

        self.assertEqual(restored.pk, self.payload["project"]["id"])
        self.assertEqual(list(selectors.integrity.integrity_violations()), [])
        for chain in selectors.audit_chains():
            self.assertTrue(selectors.audit_verify(project_id=chain).ok, chain)
        self.assertEqual(Event.objects.count(), len(self.payload["audit"]["events"]))
        again = dumps(selectors.project_native(project=restored, user=admin()))
        self.assertEqual(without_time(again), without_time(text))
        # The references' embeddings are computed again (the export does not carry them),
        # so matching works at once on the restored desk.
        self.assertTrue(all(r.vector for r in Reference.objects.all()))
        selectors.matching.engine_reset()
        [found] = selectors.matching.matches_for_user(
            project_id=restored.pk,
            user=admin(),
            membership=None,
            text=self.payload["references"][0]["claim_reviewed"],
            limit=1,
            only_checked=True,
        )
        self.assertEqual((found.kind, found.id), ("reference", self.payload["references"][0]["id"]))
        # Restored accounts cannot sign in until an admin sets a password.
        self.assertFalse(admin().has_usable_password())
        # New rows get new ids after the restored ones (the sequences moved on).
        user = get_user_model().objects.create_user(username="newcomer")
        self.assertGreater(user.pk, max(u["id"] for u in self.payload["users"]))
        claim = Claim.objects.order_by("-id").first()
        revised = services.claim_revise(
            claim=Claim.objects.get(pk=self.payload["claims"][2]["id"]),
            actor=get_user_model().objects.get(username="editor"),
            expected_version=Claim.objects.get(pk=self.payload["claims"][2]["id"]).version,
            statement="South Korea will not receive further deployments.",
        )
        self.assertIsNotNone(claim)
        self.assertTrue(selectors.audit_verify(project_id=restored.pk).ok)
        self.assertEqual(revised.claim_version, 2)

    def test_a_tampered_audit_chain_is_refused_naming_the_event(self) -> None:
        payload = json.loads(dumps(self.payload))
        call_command("flush", interactive=False, verbosity=0)
        for tamper, kind in (
            (lambda events: events[3].update(hash="f" * 64), "was edited"),
            (lambda events: events[5]["after"].update(rating="true"), "was edited"),
            (lambda events: events.pop(4), "missing"),
            (lambda events: events.insert(2, events.pop(6)), "moved"),
        ):
            broken = copy.deepcopy(payload)
            tamper(broken["audit"]["events"])
            with self.assertRaises(ValidationError) as ctx:
                services.project_restore_native(payload=broken)
            [(pointer, messages)] = ctx.exception.message_dict.items()
            self.assertRegex(pointer, r"^/audit/events/\d+$")
            self.assertIn(kind, " ".join(messages))
            self.assertIn("does not verify", " ".join(messages))
            self.assertFalse(Project.objects.exists())
            self.assertFalse(get_user_model().objects.exists())

    def test_a_database_that_is_not_empty_is_refused(self) -> None:
        payload = json.loads(dumps(self.payload))
        with self.assertRaises(ValidationError) as ctx:
            services.project_restore_native(payload=payload)
        self.assertIn("The database is not empty", " ".join(ctx.exception.messages))
        # Accounts alone may exist, only with the export's ids and names.
        call_command("flush", interactive=False, verbosity=0)
        first = payload["users"][0]
        for clash in (
            {"id": first["id"], "username": "restorer"},
            {"id": first["id"] + 1000, "username": first["username"]},
        ):
            get_user_model().objects.all().delete()
            get_user_model().objects.create_user(**clash)  # the same id, or the same name
            with self.assertRaises(ValidationError) as ctx:
                services.project_restore_native(payload=payload)
            self.assertIn(
                f"User {first['username']!r} has id {first['id']} in the export",
                " ".join(ctx.exception.messages),
            )
            self.assertEqual(get_user_model().objects.count(), 1)
            self.assertFalse(Project.objects.exists())
        # The same account (id and name) is used as it is.
        get_user_model().objects.all().delete()
        kept = get_user_model().objects.create_user(
            id=first["id"], username=first["username"], password="kept-Pa55word"
        )
        services.project_restore_native(payload=payload)
        kept.refresh_from_db()
        self.assertTrue(kept.check_password("kept-Pa55word"))

    def test_only_editors_and_admins_get_the_lossless_export(self) -> None:
        reviewer = get_user_model().objects.get(username="reviewer1")
        with self.assertRaises(PermissionDenied):
            selectors.project_native(project=self.project, user=reviewer)

    def test_the_http_triage_provider_round_trips_for_admins_and_is_hidden_from_editors(
        self,
    ) -> None:
        Project.objects.filter(pk=self.project.pk).update(
            triage_url="https://triage.example/rank?key=secret"
        )
        editor = get_user_model().objects.get(username="editor")
        self.assertNotIn(
            "secret", dumps(selectors.project_native(project=self.project, user=editor))
        )
        payload = json.loads(dumps(selectors.project_native(project=self.project, user=admin())))
        self.assertEqual(payload["project"]["triage_url"], "https://triage.example/rank?key=secret")
        call_command("flush", interactive=False, verbosity=0)
        restored = services.project_restore_native(payload=payload)
        self.assertEqual(restored.triage_url, "https://triage.example/rank?key=secret")

    def test_a_suggestion_that_is_not_the_text_at_its_offsets_is_refused(self) -> None:
        payload = json.loads(dumps(self.payload))
        payload["suggestions"][0]["text"] = "Invented sentence."
        call_command("flush", interactive=False, verbosity=0)
        with self.assertRaises(ValidationError) as ctx:
            services.project_restore_native(payload=payload)
        self.assertIn("text matches the document", str(ctx.exception))
        self.assertFalse(Project.objects.exists())


class BrokenFileTests(TransactionTestCase):
    """Files that pass the schema but do not fit together are refused, nothing written."""

    def setUp(self) -> None:
        build_history()
        self.payload = json.loads(
            dumps(selectors.project_native(project=Project.objects.get(), user=admin()))
        )
        call_command("flush", interactive=False, verbosity=0)

    def refused(self, payload: dict[str, Any]) -> dict[str, list[str]]:
        self.assertEqual(export_mapping.native_errors(payload, version=2), [])
        with self.assertRaises(ValidationError) as ctx:
            services.project_restore_native(payload=payload)
        self.assertFalse(Project.objects.exists())
        self.assertFalse(get_user_model().objects.exists())
        return ctx.exception.message_dict

    def test_a_verdict_on_a_claim_the_file_lacks(self) -> None:
        payload = copy.deepcopy(self.payload)
        payload["verdicts"][0]["claim"] = 999_999
        errors = self.refused(payload)
        self.assertIn("do not fit together", " ".join(errors["restore"]))

    def test_a_username_outside_users(self) -> None:
        payload = copy.deepcopy(self.payload)
        payload["verdicts"][2]["reviewer"] = "nobody"
        self.assertEqual(
            self.refused(payload), {"/verdicts/2/reviewer": ["No user 'nobody' in users."]}
        )

    def test_a_claim_whose_quote_is_not_its_text(self) -> None:
        payload = copy.deepcopy(self.payload)
        claim = next(c for c in payload["claims"] if c["status"] == "in_review")
        claim["exact"] = "Not the text at these offsets."
        errors = self.refused(payload)
        self.assertIn("invariant", " ".join(errors["restore"]))
        self.assertIn(f"claim {claim['id']}", " ".join(errors["restore"]))

    def test_judged_rows_edited_in_the_file_are_refused(self) -> None:
        """The outside probe: a verdict's rating, its post-reveal mark, a consensus rating
        and a claim's statement edited in the file (its audit events untouched) restored
        and passed both checks. Rows are now compared with their events."""

        scale = [rating["id"] for rating in self.payload["project"]["scale"]]

        def other(rating: int) -> int:
            return next(pk for pk in scale if pk != rating)

        for table, field, change in (
            ("verdicts", "rating", other),
            ("verdicts", "post_reveal", lambda flag: not flag),
            ("verdicts", "rationale", lambda text: text + " (edited)"),
            ("consensus", "rating", other),
            ("claims", "statement", lambda text: "Not " + text),
        ):
            payload = copy.deepcopy(self.payload)
            row = payload[table][0]
            row[field] = change(row[field])
            errors = " ".join(self.refused(payload)["restore"])
            self.assertIn("row matches its audit event", errors, (table, field))

    def test_a_schema_violation_names_the_field(self) -> None:
        payload = copy.deepcopy(self.payload)
        payload["verdicts"][0]["confidence"] = "certain"
        with self.assertRaises(ValidationError) as ctx:
            services.project_restore_native(payload=payload)
        self.assertIn("/verdicts/0/confidence", ctx.exception.message_dict)

    def test_an_account_listed_twice_and_a_cut_chain(self) -> None:
        payload = copy.deepcopy(self.payload)
        payload["users"].append(dict(payload["users"][0], id=99_999))
        errors = self.refused(payload)
        self.assertEqual(
            errors[f"/users/{len(payload['users']) - 1}"],
            ["An account appears twice (same id or username)."],
        )
        payload = copy.deepcopy(self.payload)
        payload["audit"]["events"].pop()  # the last event removed, the head kept
        errors = self.refused(payload)
        self.assertIn("events after it were deleted", " ".join(errors["/audit/head"]))
