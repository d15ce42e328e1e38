"""Services: sources (``annotations/services/sources.py``)."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from annotations import services
from annotations.models import Event, Source
from tests.services.base import ServiceTestCase, counts


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
                    services.source_get_or_create(url=url, actor=self.reviewer_a)
                self.assertEqual(set(caught.exception.message_dict), {"url"})
                self.assertEqual(counts(Source, Event), before)

    def test_it_names_the_refused_scheme(self) -> None:
        with self.assertRaises(ValidationError) as caught:
            services.source_get_or_create(url=" JaVaScRiPt:alert(1)", actor=self.reviewer_a)
        self.assertFieldError(caught.exception, "url", "scheme: javascript")

    def test_it_stores_one_row_for_two_spellings_of_an_address(self) -> None:
        first = services.source_get_or_create(
            url="HTTP://Example.COM:80/a?utm_source=x#frag", actor=self.reviewer_a, title="A"
        )
        second = services.source_get_or_create(url="http://example.com/a", actor=self.reviewer_b)
        self.assertEqual(first.pk, second.pk)
        self.assertEqual(first.normalized_url, "http://example.com/a")
        self.assertEqual(Source.objects.count(), 1)
        self.assertEqual(Event.objects.filter(verb="source.create").count(), 1)
        self.assertEqual(Source.objects.get().url, "HTTP://Example.COM:80/a?utm_source=x#frag")

    def test_it_creates_with_an_event_and_strips_the_url(self) -> None:
        source = services.source_get_or_create(
            url="  https://example.org/report?b=2&a=1  ", actor=self.reviewer_a, title=" Report "
        )
        self.assertEqual(source.url, "https://example.org/report?b=2&a=1")
        self.assertEqual(source.normalized_url, "https://example.org/report?a=1&b=2")
        self.assertEqual(source.title, "Report")
        event = Event.objects.get(verb="source.create", object_id=source.pk)
        self.assertEqual(event.actor, self.reviewer_a)
        self.assertEqual(event.after["normalized_url"], source.normalized_url)

    def test_it_keeps_different_addresses_apart(self) -> None:
        a = services.source_get_or_create(url="https://example.org/a", actor=self.reviewer_a)
        b = services.source_get_or_create(url="https://example.org/a?page=2", actor=self.reviewer_a)
        self.assertNotEqual(a.pk, b.pk)

    def test_it_rejects_a_non_http_archive_url(self) -> None:
        before = counts(Source, Event)
        with self.assertRaises(ValidationError) as caught:
            services.source_get_or_create(
                url="https://example.org/a", actor=self.reviewer_a, archive_url="javascript:x"
            )
        self.assertEqual(set(caught.exception.message_dict), {"archive_url"})
        self.assertEqual(counts(Source, Event), before)

    def test_it_accepts_a_source_without_an_actor(self) -> None:
        source = services.source_get_or_create(url="https://example.org/anon", actor=None)
        self.assertIsNone(source.created_by)
