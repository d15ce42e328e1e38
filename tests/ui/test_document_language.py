"""Reviewer UI: a document's language and direction (issue 19). The reader puts them on the
text, quotes from it carry them, typed statements get dir="auto", and editors change them on
a small page (no JavaScript needed)."""

from __future__ import annotations

from django.test import Client
from django.urls import reverse

from annotations.models import Event
from tests.factories import make_claim, make_document
from tests.ui.reading_base import ReadingViewTestCase

ARABIC = (
    "قال وزير المالية إن معدل البطالة انخفض إلى ثلاثة بالمئة هذا العام.\nوأضاف أن الأسعار مستقرة.\n"  # noqa: RUF001
)


class DocumentLanguageViewTests(ReadingViewTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.arabic = make_document(project=cls.project, actor=cls.creator, text=ARABIC, title="ع")
        cls.arabic_claim = make_claim(
            document=cls.arabic,
            actor=cls.creator,
            exact="معدل البطالة",
            statement="Unemployment fell",
        )

    def url(self) -> str:
        return reverse("workbench:document-language", kwargs={"pk": self.arabic.pk})

    def test_the_reader_marks_the_text_right_to_left(self) -> None:
        self.login(self.reviewer_a)
        html = self.client.get(self.arabic.get_absolute_url()).content.decode()
        self.assertIn('id="document-text"', html)
        self.assertRegex(html, r'id="document-text"[^>]* lang="ar" dir="rtl"')
        self.assertIn("right to left", html)
        self.assertNotIn(self.url(), html)  # reviewers are not offered the change
        self.login(self.editor)
        self.assertContains(self.client.get(self.arabic.get_absolute_url()), self.url())

    def test_the_claim_page_quotes_in_the_documents_direction(self) -> None:
        self.login(self.reviewer_a)
        html = self.client.get(self.arabic_claim.get_absolute_url()).content.decode()
        self.assertIn('<blockquote lang="ar" dir="rtl">', html)
        self.assertIn(
            'class="claim-statement" tabindex="-1" dir="auto">Unemployment fell</h1>', html
        )
        self.assert_csp_clean(html)

    def test_the_form_is_for_editors_only(self) -> None:
        self.login(self.reviewer_a)
        self.assertEqual(self.client.get(self.url()).status_code, 403)
        self.login(self.outsider)
        self.assertEqual(self.client.get(self.url()).status_code, 404)
        self.login(self.editor)
        response = self.client.get(self.url())
        self.assertContains(response, 'value="ar"')
        self.assert_csp_clean(response.content.decode())

    def test_an_editor_changes_the_language_and_direction(self) -> None:
        client = Client(enforce_csrf_checks=True)
        client.force_login(self.editor)
        page = client.get(self.url())
        token = page.context["csrf_token"]
        response = client.post(
            self.url(), {"language": "fa", "direction": "", "csrfmiddlewaretoken": token}
        )
        self.assertRedirects(response, self.arabic.get_absolute_url())
        self.arabic.refresh_from_db()
        self.assertEqual((self.arabic.language, self.arabic.direction), ("fa", "rtl"))
        self.assertTrue(
            Event.objects.filter(verb="document.update", object_id=self.arabic.pk).exists()
        )
        response = client.post(
            self.url(), {"language": "en", "direction": "rtl", "csrfmiddlewaretoken": token}
        )
        self.arabic.refresh_from_db()
        self.assertEqual((self.arabic.language, self.arabic.direction), ("en", "rtl"))

    def test_a_bad_tag_is_refused_with_its_reason(self) -> None:
        self.login(self.editor)
        response = self.client.post(self.url(), {"language": "Persian", "direction": ""})
        self.assertEqual(response.status_code, 422)
        self.assertContains(response, "BCP 47", status_code=422)
        self.arabic.refresh_from_db()
        self.assertEqual(self.arabic.language, "ar")
