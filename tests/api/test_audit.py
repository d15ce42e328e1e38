"""API: a project's audit log as JSON lines with its hashes (``/projects/{id}/audit.jsonl``),
for editors and admins only, and verifiable outside the database."""

from __future__ import annotations

import json

from django.contrib.auth.models import AbstractBaseUser

from annotations.core import auditchain
from annotations.models import AuditHead, Event
from tests.api.base import ApiTestCase
from tests.factories import judge, make_claim


class AuditDownloadApiTests(ApiTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.claim = make_claim(document=cls.document, actor=cls.creator, exact="crime fell 20%")
        judge(cls.claim, cls.reviewer_a, "false", rationale="Police figures disagree.")

    def download(self, user: AbstractBaseUser, pk: int | None = None) -> tuple[int, list[str]]:
        response = self.client_for(user).get(
            f"/api/v1/projects/{pk or self.project.pk}/audit.jsonl"
        )
        if response.status_code != 200:
            return response.status_code, []
        self.assertEqual(response["Content-Type"], "application/x-ndjson")
        self.assertIn("-audit.jsonl", response["Content-Disposition"])
        return 200, b"".join(response.streaming_content).decode().splitlines()

    def test_an_editor_downloads_every_event_with_its_hashes(self) -> None:
        for user in (self.editor, self.admin):
            status, lines = self.download(user)
            self.assertEqual(status, 200)
            header = json.loads(lines[0])
            head = AuditHead.objects.get(chain=self.project.pk)
            self.assertEqual(header["schema"], "workbench-audit/1")
            self.assertEqual(header["project"]["id"], self.project.pk)
            self.assertEqual(header["head"], {"seq": head.seq, "hash": head.hash})
            rows = [json.loads(line) for line in lines[1:]]
            self.assertEqual(
                [row["id"] for row in rows],
                list(
                    Event.objects.filter(project=self.project)
                    .order_by("seq")
                    .values_list("pk", flat=True)
                ),
            )
            self.assertEqual(set(rows[0]), {
                "id", "project", "seq", "actor", "verb", "object_type", "object_id", "before",
                "after", "created_at", "prev_hash", "hash",
            })  # fmt: skip
            # Someone outside checks it with the pure module alone.
            self.assertTrue(auditchain.verify_lines(lines).ok)

    def test_a_changed_line_no_longer_verifies(self) -> None:
        _, lines = self.download(self.editor)
        index = next(i for i, line in enumerate(lines) if '"verdict.submit"' in line)
        row = json.loads(lines[index])
        row["after"]["rating"] = "true"
        lines[index] = json.dumps(row)
        problem = auditchain.verify_lines(lines).problem
        self.assertIsNotNone(problem)
        assert problem is not None
        self.assertEqual((problem.kind, problem.event_id), ("edited", row["id"]))

    def test_reviewers_are_refused_and_outsiders_learn_nothing(self) -> None:
        # Events carry verdicts' ratings and rationales and who wrote them: blind review
        # keeps them from reviewers (403, as for other editor-only things); a non-member
        # gets the same 404 as for a project that does not exist.
        for user in (self.reviewer_a, self.reviewer_b, self.creator):
            self.assertEqual(self.download(user)[0], 403)
        self.assertEqual(self.download(self.outsider)[0], 404)
        self.assertEqual(self.download(self.editor, pk=10**6)[0], 404)
        self.assertEqual(
            self.client_for(None)
            .get(f"/api/v1/projects/{self.project.pk}/audit.jsonl")
            .status_code,
            401,
        )
