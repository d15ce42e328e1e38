"""Documents in the admin: editors add them through ``services.document_create`` and
change their description through ``services.document_update`` (with its checks and an
event); the text is fixed; reviewers and superusers who are not members change nothing;
nobody deletes a document."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.test import TestCase

from annotations import services
from annotations.core.urlnorm import UrlError, check_url
from annotations.models import Document, Event
from annotations.services import limits
from annotations.services.documents import TEXT_FIXED
from tests.admin.helpers import admin_url, change_form_data, form_errors, grant_every_permission
from tests.factories import SAMPLE_TEXT, Personas, make_user


class DocumentAdminTests(Personas, TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_personas()
        cls.root = make_user("root", is_staff=True, is_superuser=True)
        grant_every_permission(cls.editor)
        grant_every_permission(cls.reviewer_a)

    def setUp(self) -> None:
        self.client.force_login(self.editor)

    def page_data(self) -> dict[str, str]:
        response = self.client.get(admin_url(Document, "change", self.document.pk))
        self.assertEqual(response.status_code, 200)
        return change_form_data(response)

    def change(self, **changes: str) -> Any:
        return self.client.post(
            admin_url(Document, "change", self.document.pk), self.page_data() | changes
        )

    def test_an_editor_describes_a_document_through_the_service(self) -> None:
        response = self.change(
            title="Mayor's speech",
            source_url="https://example.org/speech",
            published_date="2024-05-01",
        )
        self.assertEqual(response.status_code, 302, form_errors(response))
        document = Document.objects.get(pk=self.document.pk)
        self.assertEqual(
            (document.title, document.source_url, document.published_date, document.text),
            ("Mayor's speech", "https://example.org/speech", dt.date(2024, 5, 1), SAMPLE_TEXT),
        )
        event = Event.objects.get(verb="document.update", object_id=document.pk)
        self.assertEqual(event.actor, self.editor)
        self.assertEqual(
            event.before, {"title": "Sample", "source_url": "", "published_date": None}
        )
        self.assertEqual(
            event.after,
            {
                "title": "Mayor's speech",
                "source_url": "https://example.org/speech",
                "published_date": "2024-05-01",
            },
        )

    def test_the_text_cannot_be_changed(self) -> None:
        response = self.change(text="Another text.", raw_text="Another text.")
        self.assertEqual(response.status_code, 302)
        self.assertEqual(Document.objects.get(pk=self.document.pk).text, SAMPLE_TEXT)
        self.assertFalse(Event.objects.filter(verb="document.update"))
        with self.assertRaisesMessage(ValidationError, TEXT_FIXED):
            services.document_update(document=self.document, actor=self.editor, text="x")

    def test_a_source_url_that_is_not_http_is_refused_with_the_services_message(self) -> None:
        try:
            check_url("ftp://example.org/speech")
        except UrlError as exc:
            message = str(exc)
        response = self.change(source_url="ftp://example.org/speech")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.context["adminform"].form.errors["source_url"], [message])
        self.assertEqual(Document.objects.get(pk=self.document.pk).source_url, "")
        self.assertFalse(Event.objects.filter(verb="document.update"))

    def test_the_service_holds_the_limits(self) -> None:
        title = "t" * (limits.MAX_TITLE + 1)
        with self.assertRaises(ValidationError) as caught:
            services.document_update(document=self.document, actor=self.editor, title=title)
        self.assertEqual(
            caught.exception.message_dict["title"],
            limits.length_errors(title=(title, limits.MAX_TITLE))["title"],
        )
        with self.assertRaises(ValidationError) as caught:
            services.document_update(document=self.document, actor=self.editor, author="a\x00b")
        self.assertIn("author", caught.exception.message_dict)

    def test_a_reviewer_changes_nothing(self) -> None:
        self.client.force_login(self.reviewer_a)
        page = self.client.get(admin_url(Document, "change", self.document.pk))
        self.assertNotContains(page, 'name="_save"')
        response = self.client.post(
            admin_url(Document, "change", self.document.pk), {"title": "Taken over"}
        )
        self.assertEqual(response.status_code, 403)
        self.assertEqual(Document.objects.get(pk=self.document.pk).title, "Sample")
        with self.assertRaises(PermissionDenied):
            services.document_update(document=self.document, actor=self.reviewer_a, title="x")
        self.assertFalse(Event.objects.filter(verb="document.update"))

    def test_a_superuser_writes_as_the_member_they_are(self) -> None:
        self.client.force_login(self.root)
        page = self.client.get(admin_url(Document, "change", self.document.pk))
        self.assertEqual(page.status_code, 200)
        self.assertNotContains(page, 'name="_save"')
        add = self.client.get(admin_url(Document, "add"))
        self.assertEqual(list(add.context["adminform"].form.fields["project"].queryset), [])

    def test_an_editor_adds_a_document_and_a_duplicate_is_refused_on_the_form(self) -> None:
        data = {"project": str(self.project.pk), "title": "Added", "text": "Fresh text.\n"}
        response = self.client.post(admin_url(Document, "add"), data)
        self.assertEqual(response.status_code, 302, form_errors(response))
        added = Document.objects.get(title="Added")
        self.assertTrue(Event.objects.filter(verb="document.create", object_id=added.pk))
        again = self.client.post(admin_url(Document, "add"), data | {"title": "Again"})
        self.assertEqual(again.status_code, 200)  # the form again, not a server error
        self.assertIn("same text", again.context["adminform"].form.errors["text"][0])
        self.assertFalse(Document.objects.filter(title="Again"))

    def test_nobody_deletes_a_document(self) -> None:
        url = admin_url(Document, "delete", self.document.pk)
        self.assertEqual(self.client.post(url, {"post": "yes"}).status_code, 403)
        self.assertTrue(Document.objects.filter(pk=self.document.pk).exists())
