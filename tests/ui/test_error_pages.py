"""403 and 404 pages keep the site's header (sign out, help) and say why, in words; a 403
is logged in one line, a 500 with its traceback."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from unittest import mock

from django.test import Client, TestCase, override_settings

from tests.factories import make_document, make_member, make_project, make_user


class ErrorPageTests(TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.admin = make_user("admin")
        cls.project = make_project(creator=cls.admin)
        cls.reviewer = make_member(cls.project, "rita")
        cls.outsider = make_user("olga")
        cls.document = make_document(project=cls.project, actor=cls.admin)

    def test_a_reviewer_on_an_editors_page_gets_a_403_page_with_the_header(self) -> None:
        self.client.force_login(self.reviewer)
        response = self.client.get(f"/projects/{self.project.slug}/members/")
        self.assertEqual(response.status_code, 403)
        html = response.content.decode()
        self.assertIn("You can't do this here", html)
        self.assertIn('class="site-header"', html)
        self.assertIn("Sign out", html)
        self.assertIn("/static/workbench/workbench.css", html)

    def test_a_non_member_gets_the_same_404_page_as_for_a_missing_object(self) -> None:
        self.client.force_login(self.outsider)
        theirs = self.client.get(self.document.get_absolute_url())
        missing = self.client.get("/documents/999999/")
        self.assertEqual((theirs.status_code, missing.status_code), (404, 404))
        self.assertIn('class="site-header"', theirs.content.decode())
        self.assertIn("Not found", theirs.content.decode())
        # Nothing tells another project's object from a missing one: the same bytes.
        self.assertEqual(theirs.content, missing.content)


@contextmanager
def log_lines(name: str) -> Iterator[io.StringIO]:
    """What the handlers ``settings.LOGGING`` set up write for a record of logger ``name``:
    each plain ``StreamHandler`` on the way to the root (Django's and ours, not the test
    runner's capture handlers, which subclass it) writes into one buffer for the block."""
    buffer = io.StringIO()
    swapped: list[tuple[logging.StreamHandler, object]] = []
    logger: logging.Logger | None = logging.getLogger(name)
    while logger is not None:
        for handler in logger.handlers:
            if type(handler) is logging.StreamHandler:
                swapped.append((handler, handler.setStream(buffer)))
        logger = logger.parent if logger.propagate else None
    try:
        yield buffer
    finally:
        for handler, stream in swapped:
            handler.setStream(stream)


class ErrorLogTests(TestCase):
    """A reviewer on a page for admins: one WARNING line, "Forbidden (Permission denied):
    /path", no traceback, with DEBUG on (runserver) as off. Django 6.1 attaches the
    exception to that record and, with DEBUG on, its own "django" console handler wrote
    every record a second time next to the root's: two tracebacks per 403. A 500 still
    logs its traceback, once."""

    @classmethod
    def setUpTestData(cls) -> None:
        cls.admin = make_user("admin")
        cls.project = make_project(creator=cls.admin)
        cls.reviewer = make_member(cls.project, "rita")
        cls.document = make_document(project=cls.project, actor=cls.admin)

    def test_a_403_page_logs_one_line_without_a_traceback(self) -> None:
        path = f"/projects/{self.project.slug}/members/"
        self.client.force_login(self.reviewer)
        for debug in (True, False):
            with self.subTest(debug=debug), override_settings(DEBUG=debug):
                with self.assertLogs("django.request", "DEBUG") as logs:
                    response = self.client.get(path)
                self.assertEqual(response.status_code, 403)
                [record] = logs.records
                self.assertEqual(record.levelname, "WARNING")
                self.assertIsNone(record.exc_info)
                self.assertIsNone(record.exc_text)
                self.assertEqual(record.getMessage(), f"Forbidden (Permission denied): {path}")
                with log_lines("django.request") as lines:
                    self.assertEqual(self.client.get(path).status_code, 403)
                self.assertEqual(lines.getvalue(), f"Forbidden (Permission denied): {path}\n")

    def test_a_500_still_logs_its_traceback_once(self) -> None:
        client = Client(raise_request_exception=False)
        client.force_login(self.reviewer)
        path = f"/documents/{self.document.pk}/"
        boom = RuntimeError("the view broke")
        for debug in (True, False):
            with (
                self.subTest(debug=debug),
                override_settings(DEBUG=debug),
                mock.patch("annotations.access.document_get_for_user", side_effect=boom),
            ):
                with self.assertLogs("django.request", "DEBUG") as logs:
                    response = client.get(path)
                self.assertEqual(response.status_code, 500)
                [record] = logs.records
                self.assertEqual(record.levelname, "ERROR")
                assert record.exc_info is not None
                self.assertIs(record.exc_info[1], boom)
                with log_lines("django.request") as lines:
                    self.assertEqual(client.get(path).status_code, 500)
                output = lines.getvalue()
                self.assertTrue(output.startswith(f"Internal Server Error: {path}\n"), output)
                self.assertEqual(output.count("Traceback (most recent call last)"), 1, output)
                self.assertIn("RuntimeError: the view broke", output)
