"""Services: sources (``annotations/services/sources.py``)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import override_settings
from django.urls import reverse

from annotations import services
from annotations.core.urlnorm import normalize_url
from annotations.models import Event, Source, SourceEvidence, SourceFlag
from annotations.services.sources import _COMPILED_URL_COUNTS, sources_for_urls
from tests.services.base import ServiceTestCase, counts
from tests.services.import_base import (
    LOCAL,
    NO_HOSTS,
    ImportTestCase,
    _loopback_only,  # noqa: F401  (autouse: loopback only)
)


class SourcesForUrlsTests(ServiceTestCase):
    """A verdict's cited URLs at once: the citer's own rows read with their evidence, the
    others inserted (one statement on PostgreSQL up to ``_COMPILED_URL_COUNTS`` URLs, else
    the read and the insert), in the order given, an unsaved event per new row only."""

    def test_known_rows_are_read_and_the_others_inserted_in_the_order_given(self) -> None:
        known = services.source_get_or_create(
            url="https://example.org/known", actor=self.reviewer_a, project=self.project
        )
        SourceEvidence.objects.create(source=known, flag=SourceFlag.OK)
        # Another citer's row for a page is not the reviewer's: they get one of their own.
        theirs = services.source_get_or_create(
            url="https://example.org/theirs", actor=self.reviewer_b, project=self.project
        )
        small = [
            "https://example.org/theirs",
            "https://Example.org/known#part",
            "https://example.org/new",
            "https://example.org/theirs?utm_source=x",
        ]
        large = [f"https://example.org/page-{n}" for n in range(_COMPILED_URL_COUNTS + 1)]
        cases = [
            # One statement on PostgreSQL; the read and the insert on SQLite.
            (small, 1 if connection.vendor == "postgresql" else 2),
            # More URLs than the read is compiled for: the read and the insert.
            (["https://example.org/known", *large], 2),
        ]
        for urls, queries in cases:
            with self.subTest(count=len(urls)):
                before = set(Source.objects.values_list("pk", flat=True))
                with self.assertNumQueries(queries):
                    sources, events = sources_for_urls(
                        urls=urls, actor=self.reviewer_a, project=self.project
                    )
                added = Source.objects.exclude(pk__in=before)
                new_ids = dict(added.values_list("normalized_url", "pk"))
                self.assertEqual(
                    [s.pk for s in sources],
                    [known.pk if "known" in url else new_ids[normalize_url(url)] for url in urls],
                )
                self.assertEqual(
                    {s.normalized_url for s in added},
                    {s.normalized_url for s in sources if s.pk != known.pk},
                )
                self.assertNotIn(theirs.pk, [s.pk for s in sources])
                self.assertTrue(all(s.created_by == self.reviewer_a for s in added))
                # The same URL twice is one source; the URL as first typed.
                if urls is small:
                    self.assertIs(sources[0], sources[3])
                    self.assertEqual(sources[0].url, "https://example.org/theirs")
                # Unsaved events, one per new row, none for the known one.
                self.assertEqual(
                    sorted((e.verb, e.object_id, e.pk) for e in events),
                    sorted(("source.create", s.pk, None) for s in added),
                )
                for event in events:
                    source = Source.objects.get(pk=event.object_id)
                    self.assertEqual(
                        event.after,
                        {"url": source.url, "normalized_url": source.normalized_url, "title": ""},
                    )
                # Each answered with its evidence loaded: none for a new one.
                with self.assertNumQueries(0):
                    for source in sources:
                        self.assertFalse(source._state.adding)
                        evidence = getattr(source, "evidence", None)
                        if source.pk == known.pk:
                            self.assertEqual(evidence.flag, SourceFlag.OK)
                        else:
                            self.assertIsNone(evidence)


class SourceGetOrCreateTests(ServiceTestCase):
    def test_it_rejects_every_non_http_url_on_the_url_field(self) -> None:
        cases = [
            "javascript:alert(1)",
            " JaVaScRiPt:alert(1)",
            "\n\tjavascript:alert(1)",
            "data:text/html,<script>alert(1)</script>",
            "vbscript:msgbox(1)",
            "file:///etc/passwd",
            "ftp://example.com/file",
            "//example.com/no-scheme",
            "example.com/no-scheme",
            "http:///no-host",
            "https://user:pw@example.com/",
            "\x00javascript:alert(1)",
            "",
        ]
        for url in cases:
            with self.subTest(url=url):
                before = counts(Source, Event)
                with self.assertRaises(ValidationError) as caught:
                    services.source_get_or_create(
                        url=url, actor=self.reviewer_a, project=self.project
                    )
                self.assertEqual(set(caught.exception.message_dict), {"url"})
                self.assertEqual(counts(Source, Event), before)

    def test_it_names_the_refused_scheme(self) -> None:
        with self.assertRaises(ValidationError) as caught:
            services.source_get_or_create(
                url=" JaVaScRiPt:alert(1)", actor=self.reviewer_a, project=self.project
            )
        self.assertFieldError(caught.exception, "url", "scheme: javascript")

    def test_one_citer_keeps_one_row_for_two_spellings_of_an_address(self) -> None:
        first = services.source_get_or_create(
            url="HTTP://Example.COM:80/a?utm_source=x#frag",
            actor=self.reviewer_a,
            project=self.project,
            title="A",
        )
        again = services.source_get_or_create(
            url="http://example.com/a", actor=self.reviewer_a, project=self.project
        )
        self.assertEqual(first.pk, again.pk)
        self.assertEqual(first.normalized_url, "http://example.com/a")
        self.assertEqual(Source.objects.count(), 1)
        self.assertEqual(Event.objects.filter(verb="source.create").count(), 1)
        self.assertEqual(Source.objects.get().url, "HTTP://Example.COM:80/a?utm_source=x#frag")

    def test_another_citer_or_project_never_gets_someone_else_s_row(self) -> None:
        # Security round 2, finding 1: the first citer's typed URL (tracking parameters, a
        # highlighted quote) and title never reach the next citer of the same page.
        typed = "https://Example.org/leaked-memo?utm_source=r2secret&id=7#:~:text=R2%20secret"
        theirs = services.source_get_or_create(
            url=typed, actor=self.reviewer_b, project=self.project, title="R2 notes"
        )
        mine = services.source_get_or_create(
            url="https://example.org/leaked-memo?id=7", actor=self.reviewer_a, project=self.project
        )
        elsewhere = services.source_get_or_create(
            url="https://example.org/leaked-memo?id=7",
            actor=self.outsider,
            project=self.other_project,
        )
        self.assertEqual(len({theirs.pk, mine.pk, elsewhere.pk}), 3)
        self.assertEqual(mine.normalized_url, theirs.normalized_url)
        for row in (mine, elsewhere):
            self.assertEqual(row.url, "https://example.org/leaked-memo?id=7")
            self.assertEqual(row.title, "")
        self.assertEqual((mine.project, mine.created_by), (self.project, self.reviewer_a))
        self.assertEqual(elsewhere.project, self.other_project)

    def test_it_creates_with_an_event_and_strips_the_url(self) -> None:
        source = services.source_get_or_create(
            url="  https://example.org/report?b=2&a=1  ",
            actor=self.reviewer_a,
            project=self.project,
            title=" Report ",
        )
        self.assertEqual(source.url, "https://example.org/report?b=2&a=1")
        self.assertEqual(source.normalized_url, "https://example.org/report?a=1&b=2")
        self.assertEqual(source.title, "Report")
        event = Event.objects.get(verb="source.create", object_id=source.pk)
        self.assertEqual(event.actor, self.reviewer_a)
        self.assertEqual(event.after["normalized_url"], source.normalized_url)

    def test_it_keeps_different_addresses_apart(self) -> None:
        a = services.source_get_or_create(
            url="https://example.org/a", actor=self.reviewer_a, project=self.project
        )
        b = services.source_get_or_create(
            url="https://example.org/a?page=2", actor=self.reviewer_a, project=self.project
        )
        self.assertNotEqual(a.pk, b.pk)

    def test_it_refuses_an_internal_address_and_writes_nothing(self) -> None:
        cases = [
            ({"url": "http://127.0.0.1:8000/admin"}, "url", "127.0.0.1 is a loopback address"),
            ({"url": "http://[::1]/"}, "url", "::1 is a loopback address"),
            ({"url": "http://localhost/"}, "url", "localhost is this server itself"),
            ({"url": "http://2130706433/"}, "url", "numeric shorthand"),
            (
                {"url": "https://example.org/a", "archive_url": "http://10.0.0.1/copy"},
                "archive_url",
                "10.0.0.1 is a private address",
            ),
        ]
        for fields, field, reason in cases:
            with self.subTest(**fields):
                before = counts(Source, Event)
                with self.assertRaises(ValidationError) as caught:
                    services.source_get_or_create(
                        actor=self.reviewer_a, project=self.project, **fields
                    )
                [message] = caught.exception.message_dict[field]
                self.assertIn("Only public sites are accepted", message)
                self.assertIn(reason, message)
                self.assertEqual(counts(Source, Event), before)
        source = services.source_get_or_create(
            url="https://example.org/b", actor=self.reviewer_a, project=self.project
        )
        with self.assertRaises(ValidationError) as caught:
            services.source_update(
                source=source, actor=self.reviewer_a, archive_url="http://0.0.0.0/"
            )
        self.assertIn("unspecified", caught.exception.message_dict["archive_url"][0])

    def test_an_intranet_host_the_deployment_allows_may_be_cited(self) -> None:
        with override_settings(WORKBENCH_FETCH_ALLOWED_HOSTS=["wiki.intranet", "10.0.0.5"]):
            for url in ("http://wiki.intranet/page", "http://10.0.0.5/report"):
                source = services.source_get_or_create(
                    url=url, actor=self.reviewer_a, project=self.project
                )
                self.assertEqual(source.url, url)

    def test_it_rejects_a_non_http_archive_url(self) -> None:
        before = counts(Source, Event)
        with self.assertRaises(ValidationError) as caught:
            services.source_get_or_create(
                url="https://example.org/a",
                actor=self.reviewer_a,
                project=self.project,
                archive_url="javascript:x",
            )
        self.assertEqual(set(caught.exception.message_dict), {"archive_url"})
        self.assertEqual(counts(Source, Event), before)

    def test_it_accepts_a_source_without_an_actor(self) -> None:
        source = services.source_get_or_create(
            url="https://example.org/anon", actor=None, project=self.project
        )
        self.assertIsNone(source.created_by)


# --- a source's title and publisher, fetched from its page -------------------------------------


class SourceFetchMetadataTests(ImportTestCase):
    def make_source(self, path: str = "/page.html", **fields: object) -> Source:
        # Cited while the deployment allows the local site (input refuses it otherwise).
        with override_settings(WORKBENCH_FETCH_ALLOWED_HOSTS=["127.0.0.1"]):
            return services.source_get_or_create(
                url=self.site.url(path), actor=self.creator, project=self.project, **fields
            )

    @LOCAL
    def test_it_fills_the_title_and_publisher_from_the_page(self) -> None:
        source = self.make_source()
        source = services.source_fetch_metadata(source=source, actor=self.creator)
        self.assertEqual(
            (source.title, source.publisher, str(source.published_date)),
            ("Bridge costs doubled, council admits", "The Daily Test", "2024-03-05"),
        )
        event = Event.objects.get(verb="source.fetch_metadata", object_id=source.pk)
        self.assertEqual(event.after["title"], "Bridge costs doubled, council admits")

    @LOCAL
    def test_it_keeps_what_a_person_wrote(self) -> None:
        source = self.make_source(title="Council report on the bridge")
        source = services.source_fetch_metadata(source=source, actor=self.creator)
        self.assertEqual(
            (source.title, source.publisher), ("Council report on the bridge", "The Daily Test")
        )

    @LOCAL
    def test_a_page_without_main_text_still_gives_its_title(self) -> None:
        source = self.make_source("/empty.html")
        source = services.source_fetch_metadata(source=source, actor=self.creator)
        self.assertEqual((source.title, source.publisher), ("Statistics portal", "Stats Office"))

    @LOCAL
    def test_the_api_fills_the_title(self) -> None:
        source = self.make_source()
        self.client.force_login(self.creator)
        # The operation takes no body: a JSON request without one (the test client's default,
        # an empty multipart form, is refused as a media type the API does not read).
        response = self.client.post(
            reverse("api:source-fetch-metadata", kwargs={"pk": source.pk}),
            content_type="application/json",
        )
        self.assertEqual(response.status_code, 200, response.content)
        self.assertEqual(response.json()["title"], "Bridge costs doubled, council admits")

    @LOCAL
    def test_the_admin_action_fetches_titles(self) -> None:
        source = self.make_source()
        # An intranet source, cited while the deployment allowed its host; no longer.
        with override_settings(WORKBENCH_FETCH_ALLOWED_HOSTS=["10.9.8.7"]):
            blocked = services.source_get_or_create(
                url="http://10.9.8.7/report", actor=self.creator, project=self.project
            )
        superuser = get_user_model().objects.create_superuser("root", password="pw-root")
        self.client.force_login(superuser)
        response = self.client.post(
            reverse("admin:annotations_source_changelist"),
            {"action": "fetch_titles", "_selected_action": [source.pk, blocked.pk]},
            follow=True,
        )
        self.assertContains(response, "Fetched 1 page(s); filled in 1 source(s).")
        self.assertContains(response, "Not fetched: http://10.9.8.7/report")
        source.refresh_from_db()
        self.assertEqual(source.title, "Bridge costs doubled, council admits")

    @NO_HOSTS
    def test_it_refuses_loopback_without_the_setting(self) -> None:
        source = self.make_source()
        with self.assertRaises(ValidationError) as caught:
            services.source_fetch_metadata(source=source, actor=self.creator)
        self.assertEqual(caught.exception.error_dict["url"][0].code, "blocked-address")
        source.refresh_from_db()
        self.assertEqual(source.title, "")

    @LOCAL
    def test_a_plain_text_page_is_refused_by_content_type(self) -> None:
        source = self.make_source("/article.txt")
        with self.assertRaises(ValidationError) as caught:
            services.source_fetch_metadata(source=source, actor=self.creator)
        self.assertEqual(caught.exception.error_dict["url"][0].code, "content-type")

    def test_the_api_is_scoped_to_visible_sources(self) -> None:
        source = self.make_source()
        url = reverse("api:source-fetch-metadata", kwargs={"pk": source.pk})
        self.client.force_login(self.outsider)
        self.assertEqual(self.client.post(url).status_code, 404)
        self.client.force_login(self.creator)
        with NO_HOSTS:
            response = self.client.post(url, content_type="application/json")
        self.assertEqual(response.status_code, 400)
        self.assertEqual(response.json()["code"], "blocked-address")
