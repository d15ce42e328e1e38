"""403 and 404 pages keep the site's header (sign out, help) and say why, in words."""

from __future__ import annotations

from django.test import TestCase

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
