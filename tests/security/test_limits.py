"""Request and document size limits (B.6 #22).

A body over the cap is refused with 413 (API JSON included: Django's own
``DATA_UPLOAD_MAX_MEMORY_SIZE`` check runs only when form data is parsed, and DRF reads
JSON from the raw stream), a form body over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` or with too
many fields is a 400, never a 500, and a document over ``WORKBENCH_MAX_DOCUMENT_CHARS``
is a 400 naming the ``text`` field. Nothing is written in any case.
"""

from __future__ import annotations

import json

from django.test import TestCase, override_settings

from annotations.models import Claim, Document, Verdict
from tests.security.world import API, World


class LimitTests(World, TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_world()

    def counts(self) -> tuple[int, int, int]:
        return Document.objects.count(), Claim.objects.count(), Verdict.objects.count()

    @override_settings(WORKBENCH_MAX_REQUEST_BYTES=50_000)
    def test_an_api_body_over_the_cap_is_a_413_before_it_is_read(self) -> None:
        before = self.counts()
        body = json.dumps(
            {"project": self.project.pk, "title": "Big", "text": "x" * 60_000}
        ).encode()
        client = self.api(self.editor)
        response = client.generic(
            "POST", f"{API}/documents/", body, content_type="application/json"
        )
        self.assertEqual(response.status_code, 413)
        self.assertIn("limit is 50,000", response.json()["detail"])
        just_under = json.dumps(
            {"project": self.project.pk, "title": "Fits", "text": "y" * 40_000}
        ).encode()
        response = client.generic(
            "POST", f"{API}/documents/", just_under, content_type="application/json"
        )
        self.assertEqual(response.status_code, 201, response.content[:200])
        self.assertEqual(self.counts()[1:], before[1:])

    def test_the_default_cap_follows_data_upload_max_memory_size(self) -> None:
        from workbench.middleware import MULTIPART_SLACK, max_request_bytes

        with override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=10_000, WORKBENCH_MAX_REQUEST_BYTES=0):
            self.assertEqual(max_request_bytes("application/json"), 10_000)
            self.assertEqual(
                max_request_bytes("multipart/form-data; b=x"), 10_000 + MULTIPART_SLACK
            )
            # One byte over Django's own cap is already a 413, JSON or form alike.
            for content_type in ("application/json", "application/x-www-form-urlencoded"):
                body = b"{" + b" " * 9_999 + b"}"
                response = self.api(self.editor).generic(
                    "POST", f"{API}/claims/", body, content_type=content_type
                )
                self.assertEqual(response.status_code, 413, content_type)
                self.assertIn("limit is 10,000", response.json()["detail"])
            # A multipart body gets room for its boundaries: not refused by size here.
            body = b"x" * 10_100
            response = self.api(self.editor).generic(
                "POST", f"{API}/documents/import/", body,
                content_type="multipart/form-data; boundary=zz",
            )  # fmt: skip
            self.assertNotEqual(response.status_code, 413)

    def test_a_ui_page_over_the_cap_is_a_413_page(self) -> None:
        with override_settings(WORKBENCH_MAX_REQUEST_BYTES=1000):
            response = self.browser(self.reviewer_a).post(
                f"/claims/{self.blind.pk}/verdict/", {"rationale": "r" * 2000}
            )
        self.assertEqual(response.status_code, 413)

    @override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000, WORKBENCH_MAX_REQUEST_BYTES=100_000)
    def test_a_form_body_over_django_s_cap_is_a_400_not_a_500(self) -> None:
        # With a larger explicit cap the body reaches Django's own form check.
        before = self.counts()
        client = self.browser(self.reviewer_a)
        client.raise_request_exception = False
        response = client.post(
            f"/claims/{self.blind.pk}/verdict/",
            {"rating": "true", "confidence": "low", "rationale": "r" * 5000},
        )
        self.assertEqual(response.status_code, 400)
        self.assertEqual(self.counts(), before)

    def test_too_many_form_fields_is_a_400_not_a_500(self) -> None:
        client = self.browser(self.reviewer_a)
        client.raise_request_exception = False
        fields = {f"f{i}": "1" for i in range(3000)}
        response = client.post(f"/claims/{self.blind.pk}/verdict/", fields)
        self.assertEqual(response.status_code, 400)

    def test_a_bad_content_length_is_a_400(self) -> None:
        response = self.api(self.editor).generic(
            "POST", f"{API}/claims/", b"{}", content_type="application/json",
            CONTENT_LENGTH="lots",
        )  # fmt: skip
        self.assertEqual(response.status_code, 400)

    @override_settings(WORKBENCH_MAX_DOCUMENT_CHARS=1000)
    def test_a_document_over_the_character_cap_is_a_400_on_text(self) -> None:
        before = self.counts()
        client = self.api(self.editor)
        for text in ("z" * 1001, "😀" * 1001, "e\u0301" * 501):
            with self.subTest(length=len(text)):
                response = client.post(
                    f"{API}/documents/",
                    {"project": self.project.pk, "title": "Long", "text": text},
                    format="json",
                )
                self.assertEqual(response.status_code, 400, response.content[:200])
                self.assertIn("limit is 1,000", response.json()["text"][0])
        many = [
            {"project": self.project.pk, "title": f"D{i}", "text": f"{i}" + "w" * 1000}
            for i in range(3)
        ]
        response = client.post(f"{API}/documents/", many, format="json")
        self.assertEqual(response.status_code, 400)
        self.assertEqual(set(response.json()), {"0.text", "1.text", "2.text"})
        self.assertEqual(self.counts(), before)

    def test_list_and_bulk_sizes_are_capped(self) -> None:
        client = self.api(self.editor)
        response = client.get(f"{API}/claims/", {"page_size": 100_000})
        self.assertEqual(response.status_code, 200)
        self.assertLessEqual(len(response.json()["results"]), 500)
        citations = [{"url": f"https://e.example/{i}", "stance": "supports"} for i in range(51)]
        response = self.api(self.reviewer_a).post(
            f"{API}/claims/{self.blind.pk}/verdicts/",
            {"rating": "true", "confidence": "low", "citations": citations},
            format="json",
        )
        self.assertEqual(response.status_code, 400)
