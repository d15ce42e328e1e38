"""API: a document's language and direction (issue 19): detected on POST unless given,
changed with PATCH /documents/{id}/ (editors; 400 naming the field for a bad tag)."""

from __future__ import annotations

from annotations.models import Document, Event
from tests.api.base import DOCUMENT_FIELDS, ApiTestCase
from tests.factories import make_document

ARABIC = "قال وزير المالية إن معدل البطالة انخفض إلى ثلاثة بالمئة هذا العام.\n"


class DocumentLanguageApiTests(ApiTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.document = make_document(
            project=cls.project, actor=cls.creator, text="Taxes fell by a third.\n", language="en"
        )

    def test_post_detects_the_language_and_direction_unless_given(self) -> None:
        response = self.post(
            self.editor, "/documents/", {"project": self.project.pk, "title": "A", "text": ARABIC}
        )
        self.assertEqual(response.status_code, 201, response.content)
        body = response.json()
        self.assertEqual(set(body), DOCUMENT_FIELDS)
        self.assertEqual((body["language"], body["direction"]), ("ar", "rtl"))
        given = self.post(
            self.editor,
            "/documents/",
            [{"project": self.project.pk, "title": "B", "text": ARABIC + "\n", "language": "ur"}],
        )
        self.assertEqual(given.status_code, 201, given.content)
        self.assertEqual((given.json()[0]["language"], given.json()[0]["direction"]), ("ur", "rtl"))

    def test_post_refuses_a_bad_tag_with_its_reason(self) -> None:
        with self.assertNothingWritten():
            response = self.post(
                self.editor,
                "/documents/",
                {"project": self.project.pk, "title": "A", "text": ARABIC, "language": "Arabic"},
            )
        self.assertEqual(response.status_code, 400)
        self.assertIn("BCP 47", " ".join(response.json()["language"]))

    def test_an_editor_patches_language_and_direction(self) -> None:
        path = f"/documents/{self.document.pk}/"
        response = self.patch(self.editor, path, {"language": "he"})
        self.assertEqual(response.status_code, 200, response.content)
        self.assertEqual(set(response.json()), DOCUMENT_FIELDS)
        self.assertEqual((response.json()["language"], response.json()["direction"]), ("he", "rtl"))
        response = self.patch(self.editor, path, {"direction": "auto", "title": "Renamed"})
        self.assertEqual(response.status_code, 200, response.content)
        self.document.refresh_from_db()
        self.assertEqual(
            (self.document.title, self.document.language, self.document.direction),
            ("Renamed", "he", "auto"),
        )
        self.assertEqual(
            Event.objects.filter(verb="document.update", object_id=self.document.pk).count(), 2
        )

    def test_patch_refuses_bad_input_naming_the_field(self) -> None:
        path = f"/documents/{self.document.pk}/"
        for body, field in (
            ({"language": "en_US"}, "language"),
            ({"direction": "sideways"}, "direction"),
            ({"text": "A new text."}, "text"),
        ):
            with self.subTest(body), self.assertNothingWritten():
                response = self.patch(self.editor, path, body)
                self.assertEqual(response.status_code, 400, response.content)
                self.assertIn(field, response.json())
        self.assertEqual(Document.objects.get(pk=self.document.pk).language, "en")

    def test_reviewers_are_refused_and_outsiders_do_not_see_it(self) -> None:
        path = f"/documents/{self.document.pk}/"
        self.assertEqual(self.patch(self.reviewer_a, path, {"language": "ar"}).status_code, 403)
        self.assertEqual(self.patch(self.outsider, path, {"language": "ar"}).status_code, 404)
        self.assertEqual(self.patch(None, path, {"language": "ar"}).status_code, 401)
        self.assertEqual(Document.objects.get(pk=self.document.pk).language, "en")
