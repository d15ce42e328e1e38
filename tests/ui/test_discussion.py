"""The claim page's discussion, the header's bell, the notifications page and its settings
(issue 18), in the reviewer UI: blind review in the HTML, htmx and plain posts, CSRF, 404s."""

from __future__ import annotations

from unittest import mock

import lxml.html
from django.contrib.auth.models import AbstractBaseUser
from django.test import Client
from django.urls import reverse

from annotations import services
from annotations.models import Comment, Event, Notification, NotificationSettings
from tests.factories import judge, make_claim, take
from tests.ui.reviewing_base import ReviewViewTestCase

HX = {"HTTP_HX_REQUEST": "true"}


class DiscussionViewTests(ReviewViewTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_personas()
        cls.claim = make_claim(
            document=cls.document, actor=cls.creator, exact=cls.document.text[:12]
        )
        judge(cls.claim, cls.reviewer_a, "true")
        take(cls.claim, cls.reviewer_b)
        cls.secret = services.comment_create(
            claim=cls.claim,
            author=cls.reviewer_a,
            body="Secret <b>reasoning</b> https://a.example/x",
        )

    def claim_html(self, user: AbstractBaseUser) -> str:
        self.login(user)
        response = self.client.get(self.claim.get_absolute_url())
        self.assertEqual(response.status_code, 200)
        return response.content.decode()

    def post_url(self) -> str:
        return reverse("workbench:comment-create", kwargs={"pk": self.claim.pk})

    def test_the_claim_page_hides_another_reviewers_comment_until_the_verdict(self) -> None:
        html = self.claim_html(self.reviewer_b)
        self.assertNotIn("Secret", html)
        self.assertIn("other reviewers' comments appear here after you submit", html)
        services.verdict_submit(
            claim=self.claim, reviewer=self.reviewer_b, rating="true", confidence="high",
            rationale="", citations=[],
        )  # fmt: skip
        html = self.claim_html(self.reviewer_b)
        self.assertIn("Secret &lt;b&gt;reasoning&lt;/b&gt;", html)
        self.assertIn(
            '<a href="https://a.example/x" rel="nofollow noopener noreferrer">https://a.example/x</a>',
            html,
        )

    def test_only_links_to_public_sites_are_clickable(self) -> None:
        # Outside probe: http://127.0.0.1/… in a comment was a link, which a colleague's
        # click would send to their own machine.
        body = (
            "Internal http://127.0.0.1/admin/?a=1&b=2 http://localhost/ http://10.0.0.1/x "
            "public https://b.example/y"
        )
        self.login(self.editor)
        response = self.client.post(self.post_url(), {"body": body}, **HX)
        self.assertEqual(response.status_code, 200)
        self.assertEqual(Comment.objects.get(body=body).author, self.editor)
        for html in (self.page(response), self.claim_html(self.editor)):
            tree = lxml.html.fromstring(html)
            [paragraph] = [
                p
                for p in tree.xpath('//p[@class="comment-body"]')
                if "Internal" in p.text_content()
            ]
            self.assertEqual(paragraph.text_content(), body)
            self.assertEqual(
                [a.get("href") for a in paragraph.xpath(".//a")], ["https://b.example/y"]
            )
            self.assertIn("Internal http://127.0.0.1/admin/?a=1&amp;b=2 http://localhost/", html)
            for internal in ("127.0.0.1", "localhost", "10.0.0.1"):
                self.assertNotIn(f'href="http://{internal}', html)

    def test_editors_and_the_author_see_it(self) -> None:
        for user in (self.editor, self.reviewer_a):
            with self.subTest(user=user.get_username()):
                self.assertIn("Secret &lt;b&gt;reasoning", self.claim_html(user))

    def test_an_htmx_post_returns_the_thread_fragment(self) -> None:
        self.login(self.reviewer_b)
        response = self.client.post(self.post_url(), {"body": "My own thought @editor"}, **HX)
        self.assertFragment(response, 'id="comment-thread"')
        html = self.page(response)
        self.assertIn("My own thought @editor", html)
        self.assertNotIn("Secret", html)  # still blind after posting
        self.assertEqual(Notification.objects.filter(recipient=self.editor).count(), 1)
        self.assertNoInlineCode(response)

    def test_a_plain_post_redirects_to_the_thread(self) -> None:
        self.login(self.reviewer_b)
        response = self.client.post(self.post_url(), {"body": "Without JavaScript"})
        self.assertRedirects(response, f"{self.claim.get_absolute_url()}#comment-thread")
        self.assertTrue(Comment.objects.filter(body="Without JavaScript").exists())

    def test_a_refused_comment_is_shown_again_and_nothing_is_written(self) -> None:
        self.login(self.reviewer_b)
        before = (Comment.objects.count(), Event.objects.count())
        response = self.client.post(self.post_url(), {"body": "x" * 5001}, **HX)
        self.assertIn("at most 5000 characters", self.page(response))
        response = self.client.post(self.post_url(), {"body": "Hi", "visibility": "everyone"})
        self.assertEqual(response.status_code, 422)
        self.assertIn("Only editors and admins post notes", self.page(response))
        self.assertEqual((Comment.objects.count(), Event.objects.count()), before)

    def test_editors_get_the_visibility_choice_reviewers_do_not(self) -> None:
        self.assertIn('name="visibility"', self.claim_html(self.editor))
        self.assertNotIn('name="visibility"', self.claim_html(self.reviewer_b))

    def test_the_post_needs_a_csrf_token(self) -> None:
        client = Client(enforce_csrf_checks=True)
        client.force_login(self.reviewer_b)
        self.assertEqual(client.post(self.post_url(), {"body": "no token"}).status_code, 403)
        page = client.get(self.claim.get_absolute_url()).content.decode()
        token = page.split('name="csrfmiddlewaretoken" value="', 1)[1].split('"', 1)[0]
        response = client.post(
            self.post_url(), {"body": "with token", "csrfmiddlewaretoken": token}
        )
        self.assertEqual(response.status_code, 302)

    def test_outsiders_get_404(self) -> None:
        self.login(self.outsider)
        self.assertEqual(self.client.post(self.post_url(), {"body": "hi"}).status_code, 404)
        withdraw = reverse(
            "workbench:comment-withdraw", kwargs={"pk": self.claim.pk, "comment_pk": self.secret.pk}
        )
        self.assertEqual(self.client.post(withdraw).status_code, 404)
        self.assertEqual(Comment.objects.count(), 1)

    def test_the_author_withdraws_from_the_page(self) -> None:
        self.login(self.reviewer_a)
        withdraw = reverse(
            "workbench:comment-withdraw", kwargs={"pk": self.claim.pk, "comment_pk": self.secret.pk}
        )
        self.assertIn(f'action="{withdraw}"', self.claim_html(self.reviewer_a))
        response = self.client.post(withdraw, **HX)
        self.assertIn("This comment was withdrawn.", self.page(response))
        self.assertNotIn("Secret", self.page(response))
        # A blind reviewer cannot withdraw what they cannot see.
        self.login(self.reviewer_b)
        self.assertEqual(self.client.post(withdraw).status_code, 404)


class NotificationViewTests(ReviewViewTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_personas()
        cls.claim = make_claim(
            document=cls.document, actor=cls.creator, exact=cls.document.text[:12]
        )
        cls.note = services.comment_create(
            claim=cls.claim, author=cls.editor, body="@creator please look", visibility="everyone"
        )

    def test_the_bell_shows_the_unread_count(self) -> None:
        self.login(self.creator)
        html = self.page(self.client.get(reverse("workbench:project-list")))
        self.assertIn('<span class="bell-count">1</span>', html)
        self.login(self.reviewer_a)
        html = self.page(self.client.get(reverse("workbench:project-list")))
        self.assertIn('<span class="bell-count">0</span>', html)

    def test_the_page_lists_and_marks_read(self) -> None:
        self.login(self.creator)
        response = self.client.get(reverse("workbench:notification-list"))
        self.assertFullPage(response)
        self.assertNoInlineCode(response)
        self.assertIn(f"editor mentioned you on claim {self.claim.pk}", self.page(response))
        notice = Notification.objects.get(recipient=self.creator)
        read = reverse("workbench:notification-read", kwargs={"pk": notice.pk})
        response = self.client.post(read, {"next": "claim"})
        self.assertRedirects(response, self.claim.get_absolute_url())
        notice.refresh_from_db()
        self.assertIsNotNone(notice.read_at)
        html = self.page(self.client.get(reverse("workbench:notification-list") + "?unread=1"))
        self.assertIn("No unread notifications.", html)

    def test_the_page_shows_the_newest_and_says_so_when_there_are_more(self) -> None:
        self.login(self.creator)
        with mock.patch("workbench.ui.discussion.NOTIFICATIONS_SHOWN", 1):
            html = self.page(self.client.get(reverse("workbench:notification-list")))
            self.assertNotIn("The newest 1 are shown", html)  # one notice: all of it
            services.notify_assigned(
                claim=self.claim, reviewer_ids=[self.creator.pk], actor=self.editor
            )
            html = self.page(self.client.get(reverse("workbench:notification-list")))
        self.assertIn("The newest 1 are shown", html)
        self.assertIn("assigned", html)  # the newest: the assignment
        self.assertNotIn("mentioned you", html)

    def test_read_all(self) -> None:
        self.login(self.creator)
        response = self.client.post(reverse("workbench:notification-read-all"))
        self.assertRedirects(response, reverse("workbench:notification-list"))
        self.assertFalse(Notification.objects.filter(read_at=None).exists())

    def test_someone_elses_notice_is_404(self) -> None:
        notice = Notification.objects.get(recipient=self.creator)
        self.login(self.reviewer_a)
        read = reverse("workbench:notification-read", kwargs={"pk": notice.pk})
        self.assertEqual(self.client.post(read).status_code, 404)

    def test_settings_page_saves_and_refuses(self) -> None:
        url = reverse("workbench:notification-settings")
        self.login(self.creator)
        response = self.client.get(url)
        self.assertFullPage(response)
        self.assertLabelled(response)
        response = self.client.post(url, {"email_enabled": "on", "email_kinds": ["mentioned"]})
        self.assertEqual(response.status_code, 422)  # no e-mail address on the account
        self.assertIn("no e-mail address", self.page(response))
        self.assertFalse(NotificationSettings.objects.exists())
        self.creator.email = "creator@desk.example"
        self.creator.save()
        response = self.client.post(url, {"email_enabled": "on", "email_kinds": ["mentioned"]})
        self.assertRedirects(response, url)
        saved = NotificationSettings.objects.get(user=self.creator)
        self.assertEqual((saved.email_enabled, saved.email_kinds), (True, ["mentioned"]))

    def test_anonymous_users_are_sent_to_sign_in(self) -> None:
        response = self.client.get(reverse("workbench:notification-list"))
        self.assertEqual(response.status_code, 302)
        self.assertIn(reverse("login"), response["Location"])
