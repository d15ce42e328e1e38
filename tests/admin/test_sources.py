"""Sources in the admin: never repointed (the issue's probe (c)), added through
``services.source_get_or_create`` with their normalized URL in a project of the user's,
described through ``services.source_update`` by those ``access.source_can_edit`` allows
(the owner, an editor of the project), never deleted."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.test import TestCase

from annotations import access, services
from annotations.admin.sources import ALREADY_A_SOURCE
from annotations.core.urlnorm import normalize_url
from annotations.models import Event, Source
from tests.admin.helpers import admin_url, form_errors, grant_every_permission
from tests.factories import Personas, judge, make_claim

CITED = "https://stats.example.org/crime-2024"
EVIL = "https://attacker.example.net/fake-stats"


class SourceAdminTestCase(Personas, TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_personas()
        cls.attacker = cls.reviewer_a
        grant_every_permission(cls.attacker)
        grant_every_permission(cls.editor)
        claim = make_claim(document=cls.document, actor=cls.creator, exact="crime fell 20%")
        # reviewer_b cites the page first; once the attacker has judged the claim too, blind
        # review shows them reviewer_b's verdict, and so reviewer_b's source: theirs to try.
        citation = services.CitationInput(stance="supports", url=CITED, quote="-20%")
        judge(claim, cls.reviewer_b, "true", citations=[citation])
        judge(claim, cls.attacker, "true", citations=[citation])
        cls.cited = Source.objects.get(
            normalized_url=normalize_url(CITED), created_by=cls.reviewer_b
        )
        # A source the attacker added and nobody cites yet: theirs to describe.
        cls.own = services.source_get_or_create(
            url="https://example.org/own-notes",
            actor=cls.attacker,
            project=cls.project,
            title="Own notes",
        )

    def setUp(self) -> None:
        self.client.force_login(self.attacker)

    def row(self, source: Source) -> tuple[Any, ...]:
        source = Source.objects.get(pk=source.pk)
        return source.url, source.normalized_url, source.title, source.publisher

    def change(self, source: Source, **data: str) -> Any:
        return self.client.post(admin_url(Source, "change", source.pk), data)


class SourceRepointTests(SourceAdminTestCase):
    def test_a_cited_source_cannot_be_repointed_or_changed_by_a_reviewer(self) -> None:
        before, events = self.row(self.cited), Event.objects.count()
        response = self.change(self.cited, url=EVIL, title="Fake", publisher="Attacker")
        self.assertEqual(response.status_code, 403)
        self.assertEqual(self.row(self.cited), before)
        self.assertEqual(Event.objects.count(), events)
        page = self.client.get(admin_url(Source, "change", self.cited.pk))
        self.assertEqual(page.status_code, 200)
        self.assertNotContains(page, 'name="url"')
        self.assertNotContains(page, 'name="_save"')

    def test_the_url_stays_when_someone_who_may_describe_the_source_posts_one(self) -> None:
        response = self.change(self.own, url=EVIL, title="Own notes, revised")
        self.assertEqual(response.status_code, 302, form_errors(response))
        self.assertEqual(
            self.row(self.own),
            (
                "https://example.org/own-notes",
                normalize_url("https://example.org/own-notes"),
                "Own notes, revised",
                "",
            ),
        )
        event = Event.objects.get(verb="source.update", object_id=self.own.pk)
        self.assertEqual(
            (event.actor, event.before, event.after),
            (self.attacker, {"title": "Own notes"}, {"title": "Own notes, revised"}),
        )

    def test_an_editor_of_the_project_describes_a_cited_source(self) -> None:
        self.client.force_login(self.editor)
        response = self.change(self.cited, url=EVIL, title="Crime statistics 2024")
        self.assertEqual(response.status_code, 302, form_errors(response))
        self.assertEqual(self.row(self.cited)[0], CITED)
        self.assertEqual(self.row(self.cited)[2], "Crime statistics 2024")
        self.assertTrue(Event.objects.filter(verb="source.update", actor=self.editor))

    def test_the_archive_url_is_http_only(self) -> None:
        response = self.change(self.own, title="Own notes", archive_url="ftp://example.org/x")
        self.assertEqual(response.status_code, 200)
        self.assertIn("archive_url", response.context["adminform"].form.errors)
        self.assertEqual(Source.objects.get(pk=self.own.pk).archive_url, "")
        self.assertFalse(Event.objects.filter(verb="source.update"))

    def test_nobody_deletes_a_source(self) -> None:
        self.client.force_login(self.editor)
        self.assertEqual(
            self.client.post(
                admin_url(Source, "delete", self.cited.pk), {"post": "yes"}
            ).status_code,
            403,
        )
        self.assertTrue(Source.objects.filter(pk=self.cited.pk).exists())


class SourceAddTests(SourceAdminTestCase):
    def add(self, url: str, **data: Any) -> Any:
        data.setdefault("project", self.project.pk)
        return self.client.post(admin_url(Source, "add"), {"url": url, **data})

    def test_an_added_source_gets_its_normalized_url_through_the_service(self) -> None:
        url = "https://WWW.Example.org/report/?utm_source=newsletter&b=2&a=1#top"
        response = self.add(url, title="Annual report")
        self.assertEqual(response.status_code, 302, form_errors(response))
        source = Source.objects.get(url=url)
        self.assertEqual(source.project, self.project)
        self.assertEqual(source.normalized_url, normalize_url(url))
        self.assertNotEqual(source.normalized_url, "")
        self.assertEqual((source.title, source.created_by), ("Annual report", self.attacker))
        event = Event.objects.get(verb="source.create", object_id=source.pk)
        self.assertEqual(event.after["normalized_url"], source.normalized_url)

    def test_adding_the_same_address_again_is_refused_on_the_form(self) -> None:
        self.assertEqual(self.add("https://example.org/dup?utm_source=x").status_code, 302)
        sources, events = Source.objects.count(), Event.objects.count()
        for again in ("https://example.org/dup", "https://EXAMPLE.org/dup?utm_medium=y"):
            with self.subTest(url=again):
                response = self.add(again)
                self.assertEqual(response.status_code, 200)  # the form again, not a 500
                self.assertEqual(
                    response.context["adminform"].form.errors["url"], [ALREADY_A_SOURCE]
                )
                self.assertEqual((Source.objects.count(), Event.objects.count()), (sources, events))

    def test_a_source_goes_only_into_a_project_of_the_user_s(self) -> None:
        sources = Source.objects.count()
        response = self.add("https://example.org/elsewhere", project=self.other_project.pk)
        self.assertEqual(response.status_code, 200)
        self.assertIn("project", response.context["adminform"].form.errors)
        self.assertEqual(Source.objects.count(), sources)

    def test_a_non_http_address_is_refused_with_the_services_message(self) -> None:
        response = self.add("ftp://example.org/file")
        self.assertEqual(response.status_code, 200)
        self.assertTrue(response.context["adminform"].form.errors["url"])
        self.assertFalse(Source.objects.filter(url__startswith="ftp:"))

    def test_the_add_page_takes_no_accessed_date_and_the_change_page_does(self) -> None:
        self.assertNotContains(self.client.get(admin_url(Source, "add")), 'name="accessed_date"')
        self.assertContains(
            self.client.get(admin_url(Source, "change", self.own.pk)), 'name="accessed_date"'
        )


class SourceServiceTests(SourceAdminTestCase):
    def test_the_service_refuses_a_new_url_and_other_fields(self) -> None:
        for field in ("url", "normalized_url", "created_by"):
            with self.subTest(field=field), self.assertRaises(ValidationError) as caught:
                services.source_update(source=self.own, actor=self.attacker, **{field: EVIL})
            self.assertIn(field, caught.exception.message_dict)
        self.assertEqual(self.row(self.own)[0], "https://example.org/own-notes")

    def test_the_service_asks_access_who_may_describe_a_source(self) -> None:
        with self.assertRaisesMessage(PermissionDenied, access.SOURCE_EDIT_RULE):
            services.source_update(source=self.cited, actor=self.attacker, title="Fake")
        self.assertEqual(self.row(self.cited)[2], "")
