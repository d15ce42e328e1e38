"""Reviewer UI, reading side (workbench/ui/reading.py): project list, sign-in, the project
dashboard, the document list and full-text search. The reader is in
``tests/ui/test_reader.py``.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import NoReverseMatch, reverse

from annotations import services
from tests.factories import judge, make_claim, make_document
from tests.ui.reading_base import EMOJI_TEXT, HX, XSS_STATEMENT, XSS_TEXT, ReadingViewTestCase


class ProjectListViewTests(ReadingViewTestCase):
    def test_it_lists_only_the_users_projects(self) -> None:
        self.login(self.reviewer_a)
        response = self.client.get(reverse("workbench:project-list"))
        self.assertContains(response, self.project.get_absolute_url())
        self.assertNotContains(response, self.other_project.get_absolute_url())
        self.assertContains(response, "<title>Projects · Workbench</title>", html=False)

    def test_it_redirects_anonymous_visitors_to_sign_in(self) -> None:
        response = self.client.get(reverse("workbench:project-list"))
        self.assertRedirects(response, f"{reverse('login')}?next=/", fetch_redirect_response=False)

    def test_the_outsider_sees_no_foreign_project(self) -> None:
        self.login(self.outsider)
        response = self.client.get(reverse("workbench:project-list"))
        self.assertNotContains(response, self.project.get_absolute_url())


class SignInViewTests(ReadingViewTestCase):
    def test_sign_in_form_has_labels_and_sign_out_works(self) -> None:
        response = self.client.get(reverse("login"))
        self.assertContains(response, '<label for="id_username">')
        self.assertContains(response, '<label for="id_password">')
        response = self.client.post(
            reverse("login"), {"username": "reviewer_a", "password": "pw-reviewer_a"}
        )
        self.assertRedirects(response, "/", fetch_redirect_response=False)
        self.assertContains(self.client.get("/"), "Sign out")
        self.client.post(reverse("logout"))
        self.assertEqual(self.client.get("/").status_code, 302)


class ProjectDashboardViewTests(ReadingViewTestCase):
    def url(self) -> str:
        return reverse("workbench:project-detail", kwargs={"slug": self.project.slug})

    def test_access(self) -> None:
        self.assert_access(self.url())

    def test_it_shows_status_counts_progress_and_chart(self) -> None:
        judge(self.claim, self.reviewer_a, "true")
        judge(self.claim, self.reviewer_b, "true")  # unanimous: resolved
        make_claim(document=self.document, actor=self.creator, exact="Critics say")
        self.login(self.editor)
        html = self.client.get(self.url()).content.decode()
        self.assertIn("1 of 2 claims resolved or published (50%", html)
        self.assertIn('<svg class="bar-chart"', html)
        self.assertIn('<svg class="progress-chart"', html)
        self.assertIn("Current verdicts by rating: True 2,", html)
        self.assertIn('class="chart-bar tone-o5"', html)
        self.assertIn("Reviewers against consensus", html)
        self.assertIn(reverse("workbench:document-list", kwargs={"slug": self.project.slug}), html)
        self.assert_csp_clean(html)

    def test_reviewers_see_no_per_reviewer_rows_and_only_verdicts_blind_review_allows(
        self,
    ) -> None:
        judge(self.claim, self.reviewer_a, "false")
        self.login(self.reviewer_b)  # has not judged the claim: must not see reviewer_a's verdict
        html = self.client.get(self.url()).content.decode()
        self.assertNotIn("Reviewers against consensus", html)
        self.assertIn("No verdicts that you can see yet.", html)
        self.login(self.reviewer_a)
        html = self.client.get(self.url()).content.decode()
        self.assertIn("False 1", html)

    def test_it_links_the_users_active_lease(self) -> None:
        services.lease_next(reviewer=self.reviewer_a, project=self.project)
        self.login(self.reviewer_a)
        response = self.client.get(self.url())
        self.assertContains(response, f'href="{self.claim.get_absolute_url()}"')

    def test_review_next_and_disputes_appear_only_when_their_views_exist(self) -> None:
        self.login(self.editor)
        html = self.client.get(self.url()).content.decode()
        for name, text in (
            ("workbench:queue-next", "Review next"),
            ("workbench:disputes", "Disputes"),
        ):
            with self.subTest(name):
                try:
                    url = reverse(name, kwargs={"slug": self.project.slug})
                except NoReverseMatch:
                    self.assertNotIn(f">{text}<", html)
                else:
                    self.assertIn(f'"{url}"', html)

    def test_user_strings_are_escaped(self) -> None:
        document = make_document(
            project=self.project, actor=self.creator, text=XSS_TEXT, title=XSS_STATEMENT
        )
        claim = make_claim(
            document=document, actor=self.creator, exact="cuts crime", statement=XSS_STATEMENT
        )
        judge(self.claim, self.reviewer_a, "true")  # so the queue offers the new claim next
        assignment = services.lease_next(reviewer=self.reviewer_a, project=self.project)
        self.assertEqual(assignment.claim_id, claim.pk)
        self.login(self.reviewer_a)
        html = self.client.get(self.url()).content.decode()
        self.assertNotIn("<img src=x", html)
        self.assertIn("&lt;img src=x onerror=alert(1)&gt;", html)
        self.assert_csp_clean(html)

    def test_query_count_does_not_grow_with_claims_verdicts_and_leases(self) -> None:
        self.login(self.editor)
        with CaptureQueriesContext(connection) as baseline:
            self.client.get(self.url())
        other = make_document(project=self.project, actor=self.creator, text=EMOJI_TEXT)
        claims = [
            make_claim(document=other, actor=self.creator, start=i, end=i + 3) for i in range(12)
        ]
        for claim in [self.claim, *claims[:5]]:
            judge(claim, self.reviewer_a, "true")
            judge(claim, self.reviewer_b, "mostly_false")
        services.lease_next(reviewer=self.reviewer_c, project=self.project)
        services.lease_next(reviewer=self.editor, project=self.project)
        with self.assertNumQueries(len(baseline.captured_queries)):
            response = self.client.get(self.url())
        self.assertContains(response, "Mostly false")


class DocumentListViewTests(ReadingViewTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        make_document(
            project=cls.project,
            actor=cls.creator,
            title="Budget hearing transcript",
            text="The treasurer defended the spending plan.\n",
        )
        make_document(
            project=cls.project,
            actor=cls.creator,
            title="Harbour report",
            text="Shipping volumes through the harbour doubled, the port authority said.\n",
        )
        make_document(
            project=cls.other_project,
            actor=cls.outsider,
            title="Budget leak from another desk",
            text="Secret.\n",
        )

    def url(self, **params: str) -> str:
        base = reverse("workbench:document-list", kwargs={"slug": self.project.slug})
        return base + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else "")

    def test_access(self) -> None:
        self.assert_access(self.url())

    def test_full_page_without_htmx_and_fragment_with_htmx(self) -> None:
        self.login(self.reviewer_a)
        page = self.client.get(self.url())
        self.assertContains(page, "<html")
        self.assertContains(page, 'role="search"')
        self.assertContains(page, '<label for="document-search">')
        self.assert_csp_clean(page.content.decode())
        fragment = self.client.get(self.url(q="budget"), **HX)
        self.assertNotContains(fragment, "<html")
        self.assertContains(fragment, 'id="document-rows"')
        self.assertContains(fragment, "Budget hearing transcript")
        for response in (page, fragment):
            self.assertIn("HX-Request", response["Vary"])

    def test_a_history_restore_request_gets_the_whole_page(self) -> None:
        self.login(self.reviewer_a)
        response = self.client.get(
            self.url(q="budget"), HTTP_HX_HISTORY_RESTORE_REQUEST="true", **HX
        )
        self.assertContains(response, "<html")

    def test_search_finds_by_title_and_by_text_within_the_project(self) -> None:
        self.login(self.reviewer_a)
        cases = [
            ("budget", ["Budget hearing transcript"], ["Harbour report", "another desk"]),
            ("shipping", ["Harbour report"], ["Budget hearing transcript"]),
            ("treasurer+spending", ["Budget hearing transcript"], ["Harbour report"]),
            ("zeppelin", [], ["Budget hearing transcript", "Harbour report", "Sample"]),
        ]
        for query, found, absent in cases:
            with self.subTest(query):
                html = self.client.get(self.url(q=query)).content.decode()
                for title in found:
                    self.assertIn(title, html)
                for title in absent:
                    self.assertNotIn(title, html)
        self.assertContains(self.client.get(self.url(q="zeppelin")), "0 documents match")

    def test_it_paginates_25_per_page(self) -> None:
        for i in range(27):
            make_document(
                project=self.project, actor=self.creator, title=f"Extra {i}", text=f"x{i}\n"
            )
        self.login(self.reviewer_a)
        first = self.client.get(self.url()).content.decode()
        self.assertEqual(first.count('<th scope="row">'), 25)
        self.assertIn("Page 1 of 2", first)
        second = self.client.get(self.url(page="2"), **HX).content.decode()
        self.assertEqual(second.count('<th scope="row">'), 30 - 25)
        self.assertIn('rel="prev"', second)

    def test_query_is_escaped(self) -> None:
        self.login(self.reviewer_a)
        html = self.client.get(self.url(q="%3Cimg%20src=x%3E")).content.decode()
        self.assertNotIn("<img src=x>", html)
        self.assertIn("&lt;img src=x&gt;", html)


@pytest.mark.postgres("full-text search")
class DocumentFullTextSearchTests(ReadingViewTestCase):
    def test_title_matches_rank_above_text_matches_and_words_are_stemmed(self) -> None:
        make_document(
            project=self.project,
            actor=self.creator,
            title="Minutes",
            text="Among other things the council discussed tariffs.\n",
        )
        make_document(
            project=self.project,
            actor=self.creator,
            title="Tariff increases explained",
            text="Prices of imported goods.\n",
        )
        self.login(self.reviewer_a)
        url = reverse("workbench:document-list", kwargs={"slug": self.project.slug})
        html = self.client.get(url, {"q": "tariff"}).content.decode()
        self.assertLess(html.index("Tariff increases explained"), html.index("Minutes"))
        html = self.client.get(url, {"q": '"imported goods" -council'}).content.decode()
        self.assertIn("Tariff increases explained", html)
        self.assertNotIn("Minutes", html)


class ProjectDashboardAuditLinkTests(ReadingViewTestCase):
    def test_editors_get_a_link_to_download_the_audit_log_and_reviewers_do_not(self) -> None:
        url = reverse("workbench:project-detail", kwargs={"slug": self.project.slug})
        audit = reverse("api:project-audit", kwargs={"pk": self.project.pk})
        for user in (self.editor, self.admin):
            self.login(user)
            response = self.client.get(url)
            self.assertContains(response, f'href="{audit}" download')
            self.assertContains(response, "Download audit log")
            # The link works with the signed-in session.
            self.assertEqual(self.client.get(audit).status_code, 200)
        self.login(self.reviewer_a)
        response = self.client.get(url)
        self.assertNotContains(response, audit)
        self.assertNotContains(response, "Download audit log")
