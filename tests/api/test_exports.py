"""API: the document and project exports (``/documents/{id}/export/``,
``/projects/{id}/export/``)."""

from __future__ import annotations

import json

from django.contrib.auth.models import AbstractBaseUser
from rest_framework.response import Response

from tests.api.base import ApiTestCase
from tests.factories import SAMPLE_TEXT, judge, make_claim


class ExportApiTests(ApiTestCase):
    """The export endpoints through the API: media types, shapes and blind review.
    The formats themselves are tested in ``tests/selectors/test_export.py`` and
    ``tests/core/test_export_mapping.py``."""

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.resolved = make_claim(document=cls.document, actor=cls.creator, exact="crime fell 20%")
        judge(cls.resolved, cls.reviewer_a, "false")
        judge(cls.resolved, cls.reviewer_b, "false")
        cls.open = make_claim(document=cls.document, actor=cls.creator, exact="record low of 3.1%")
        judge(cls.open, cls.reviewer_a, "true")  # one of two verdicts: still in review

    def export(self, user: AbstractBaseUser, fmt: str | None = None) -> Response:
        params = {} if fmt is None else {"format": fmt}
        return self.get(user, f"/documents/{self.document.pk}/export/", params)

    def verdicts_by_claim(self, user: AbstractBaseUser) -> dict[int, list[str]]:
        body = self.export(user, "json").json()
        return {c["id"]: [v["reviewer"] for v in c["verdicts"]] for c in body["claims"]}

    def test_the_native_export_is_the_default_and_holds_the_text(self) -> None:
        response = self.export(self.editor)
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response["Content-Type"], "application/json")
        body = response.json()
        self.assertEqual(body["schema"], "workbench-export/1")
        self.assertEqual(body["document"]["text"], SAMPLE_TEXT)
        self.assertEqual([c["id"] for c in body["claims"]], [self.resolved.pk, self.open.pk])

    def test_the_json_ld_formats_have_their_media_types(self) -> None:
        for fmt, media_type in [
            ("claimreview", "application/ld+json"),
            ("webannotation", 'application/ld+json; profile="http://www.w3.org/ns/anno.jsonld"'),
        ]:
            with self.subTest(fmt):
                response = self.export(self.reviewer_c, fmt)
                self.assertEqual(response.status_code, 200, response.content)
                self.assertEqual(response["Content-Type"], media_type)
                self.assertIn(f"-{fmt}.json", response["Content-Disposition"])
                self.assertIsNotNone(response.json())

    def test_the_native_export_obeys_blind_review(self) -> None:
        self.assertEqual(
            self.verdicts_by_claim(self.editor),
            {self.resolved.pk: ["reviewer_a", "reviewer_b"], self.open.pk: ["reviewer_a"]},
        )
        self.assertEqual(
            self.verdicts_by_claim(self.reviewer_b),
            {self.resolved.pk: ["reviewer_a", "reviewer_b"], self.open.pk: []},
        )
        self.assertEqual(
            self.verdicts_by_claim(self.reviewer_c), {self.resolved.pk: [], self.open.pk: []}
        )

    def test_the_project_export_streams_one_json_line_per_claim(self) -> None:
        response = self.get(self.reviewer_c, f"/projects/{self.project.pk}/export/")
        self.assertEqual(response.status_code, 200)
        self.assertTrue(response.streaming)
        self.assertEqual(response["Content-Type"], "application/x-ndjson")
        lines = b"".join(response.streaming_content).decode().splitlines()
        self.assertEqual(len(lines), 2)
        rows = [json.loads(line) for line in lines]
        self.assertEqual({row["id"] for row in rows}, {self.resolved.pk, self.open.pk})

    def test_an_unknown_format_is_a_400(self) -> None:
        self.assertFieldError(self.export(self.editor, "csv"), "format", "json")
        response = self.get(self.editor, f"/projects/{self.project.pk}/export/", {"format": "json"})
        self.assertFieldError(response, "format", "jsonl")
