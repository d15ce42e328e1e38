"""Live updates (workbench/ui/live.py, annotations/selectors/live.py, workbench/live.py): the
change feed as JSON (polling) and as server-sent events. Only members, only their project,
nothing blind review hides, a cursor that resumes exactly; on PostgreSQL the NOTIFY sent
when an event commits.
"""

from __future__ import annotations

import contextlib
import json
import re

import pytest
from django.db import connection, transaction
from django.test import TestCase, TransactionTestCase, override_settings
from django.urls import reverse

from annotations import selectors, services
from annotations.models import Event
from tests.aio import run_in_own_loop
from tests.factories import (
    Personas,
    judge,
    make_claim,
    make_document,
    make_member,
    make_project,
    make_user,
)

ALLOWED_KEYS = {"claim", "document", "pages", "new", "disputed"}


class LiveFeedTests(TestCase, Personas):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_personas()
        cls.claim = make_claim(document=cls.document, actor=cls.creator, exact="crime fell 20%")
        cls.changes_url = reverse("workbench:live-changes", kwargs={"slug": cls.project.slug})
        cls.events_url = reverse("workbench:live-events", kwargs={"slug": cls.project.slug})

    def cursor(self) -> int:
        return selectors.live_cursor(project_id=self.project.pk)

    def poll(self, user, after: int) -> dict:
        self.client.force_login(user)
        response = self.client.get(self.changes_url, {"after": after})
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response["Cache-Control"], "no-store")
        body = response.json()
        for change in body["changes"]:
            self.assertLessEqual(set(change), ALLOWED_KEYS)  # never content, verb or actor
        return body

    def test_it_answers_401_when_signed_out(self) -> None:
        for url in (self.changes_url + "?after=0", self.events_url):
            with self.subTest(url=url):
                self.assertEqual(self.client.get(url).status_code, 401)

    def test_it_answers_404_to_non_members(self) -> None:
        self.client.force_login(self.outsider)
        for url in (self.changes_url + "?after=0", self.events_url):
            with self.subTest(url=url):
                self.assertEqual(self.client.get(url).status_code, 404)

    def test_a_bad_cursor_is_a_400(self) -> None:
        self.client.force_login(self.reviewer_a)
        for bad in ("", "-1", "x", "1e3", "9" * 30):
            with self.subTest(after=bad):
                self.assertEqual(self.client.get(self.changes_url, {"after": bad}).status_code, 400)

    def test_a_new_claim_is_reported_once_after_the_cursor(self) -> None:
        before = self.cursor()
        claim = make_claim(document=self.document, actor=self.creator, exact="last year")
        body = self.poll(self.reviewer_a, before)
        self.assertEqual(
            body["changes"],
            [
                {
                    "claim": claim.pk,
                    "document": self.document.pk,
                    "pages": ["reader", "dashboard"],
                    "new": True,
                }
            ],
        )
        self.assertEqual(body["cursor"], self.cursor())
        self.assertEqual(self.poll(self.reviewer_a, body["cursor"])["changes"], [])
        # From an older cursor, the same change again: resuming never loses one.
        self.assertEqual(len(self.poll(self.reviewer_a, before)["changes"]), 1)

    def test_a_cursor_past_the_chains_head_reads_from_the_head(self) -> None:
        # A client's cursor from before a restore to an older backup (or made up) must not
        # wait for positions the chain gives to later changes: it is answered the head,
        # and from there the next change reaches it.
        head = self.cursor()
        body = self.poll(self.reviewer_a, head + 1000)
        self.assertEqual((body["changes"], body["cursor"]), ([], head))
        claim = make_claim(document=self.document, actor=self.creator, exact="last year")
        self.assertEqual(
            [change["claim"] for change in self.poll(self.reviewer_a, body["cursor"])["changes"]],
            [claim.pk],
        )

    @override_settings(LIVE_STREAM_WSGI=True, LIVE_STREAM_SECONDS=0.3, LIVE_POLL_SECONDS=0.05)
    def test_a_stream_resumed_past_the_head_resumes_from_the_head(self) -> None:
        # The stream's last message is the cursor to resume from: the head, not the
        # cursor the client made up (which would skip the next changes on reconnect).
        head = self.cursor()
        self.client.force_login(self.reviewer_a)
        past = str(head + 1000)
        for headers, query in (({"HTTP_LAST_EVENT_ID": past}, {}), ({}, {"after": past})):
            with self.subTest(headers=headers, query=query):
                response = self.client.get(self.events_url, query, **headers)
                body = b"".join(response.streaming_content).decode()
                self.assertNotIn("data:", body)
                self.assertTrue(body.endswith(f"id: {head}\n\n"), body)

    def test_the_cursor_is_the_projects_chain_position(self) -> None:
        make_claim(document=self.document, actor=self.creator, exact="last year")
        last = Event.objects.filter(project=self.project).order_by("-seq").first()
        assert last is not None
        self.assertEqual(self.cursor(), last.seq)

    def test_other_projects_events_are_absent(self) -> None:
        before = self.cursor()
        other_document = make_document(project=self.other_project, actor=self.outsider)
        make_claim(document=other_document, actor=self.outsider, exact="crime fell 20%")
        body = self.poll(self.reviewer_a, before)
        self.assertEqual(body, {"cursor": before, "changes": []})

    def test_events_no_page_shows_move_the_cursor_but_send_nothing(self) -> None:
        before = self.cursor()
        services.comment_create(claim=self.claim, author=self.editor, body="Where is this from?")
        self.assertGreater(self.cursor(), before)
        body = self.poll(self.editor, before)
        self.assertEqual(body, {"cursor": self.cursor(), "changes": []})

    def test_blind_review_another_reviewers_verdict_sends_nothing(self) -> None:
        before = self.cursor()
        judge(self.claim, self.reviewer_a, "false")
        # reviewer_b has not judged the claim: neither the lease nor the verdict is theirs
        self.assertEqual(self.poll(self.reviewer_b, before)["changes"], [])
        # reviewer_a's own lease and verdict change their dashboard
        own = self.poll(self.reviewer_a, before)["changes"]
        self.assertEqual([c["pages"] for c in own], [["dashboard"], ["dashboard"]])
        # editors see the verdict (dashboard figures, dispute cards), not the lease
        self.assertEqual(
            self.poll(self.editor, before)["changes"],
            [
                {
                    "claim": self.claim.pk,
                    "document": self.document.pk,
                    "pages": ["dashboard", "disputes"],
                }
            ],
        )

    def test_once_judged_a_reviewer_hears_of_the_others_verdicts(self) -> None:
        judge(self.claim, self.reviewer_a, "false")
        before = self.cursor()
        judge(self.claim, self.reviewer_b, "true")  # disagreement: the claim is disputed
        changes = self.poll(self.reviewer_a, before)["changes"]
        self.assertIn(["dashboard"], [c["pages"] for c in changes])  # b's verdict
        self.assertIn(["reader", "dashboard"], [c["pages"] for c in changes])  # the status
        self.assertFalse(any(c.get("disputed") for c in changes))  # editors' flag only
        editor = self.poll(self.editor, before)["changes"]
        self.assertTrue(any(c.get("disputed") for c in editor))
        # a third reviewer who judged nothing hears only of the status change
        self.assertEqual(
            [c["pages"] for c in self.poll(self.reviewer_c, before)["changes"]],
            [["reader", "dashboard"]],
        )

    def test_a_removed_member_gets_404(self) -> None:
        member = make_member(self.project, "leaving")
        self.client.force_login(member)
        self.assertEqual(self.client.get(self.changes_url, {"after": 0}).status_code, 200)
        services.member_remove(
            membership=self.project.memberships.get(user=member), actor=self.admin
        )
        self.assertEqual(self.client.get(self.changes_url, {"after": 0}).status_code, 404)

    def test_pages_carry_the_cursor_they_were_rendered_at(self) -> None:
        self.client.force_login(self.editor)
        cursor = self.cursor()
        pages = {
            "reader": self.document.get_absolute_url(),
            "dashboard": self.project.get_absolute_url(),
            "disputes": reverse("workbench:disputes", kwargs={"slug": self.project.slug}),
        }
        for page, url in pages.items():
            with self.subTest(page=page):
                html = self.client.get(url).content.decode()
                self.assertIn(f'data-live-page="{page}"', html)
                self.assertIn(f'data-live-cursor="{cursor}"', html)
                self.assertIn(f'data-live-events="{self.events_url}"', html)
                self.assertIn("workbench/live.js", html)
                self.assertRegex(html, r'role="status" aria-live="polite"')

    @override_settings(
        LIVE_STREAM_WSGI=True,
        LIVE_STREAM_SECONDS=1,
        LIVE_POLL_SECONDS=0.05,
        LIVE_HEARTBEAT_SECONDS=1,
    )
    def test_the_stream_sends_changes_with_their_cursor_as_id_and_ends(self) -> None:
        before = self.cursor()
        claim = make_claim(document=self.document, actor=self.creator, exact="last year")
        self.client.force_login(self.reviewer_a)
        response = self.client.get(self.events_url, {"after": before})
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response["Content-Type"], "text/event-stream; charset=utf-8")
        self.assertEqual(response["X-Accel-Buffering"], "no")
        self.assertEqual(response["Cache-Control"], "no-store")
        body = b"".join(response.streaming_content).decode()  # bounded: 1 s
        self.assertTrue(body.startswith("retry: 2000\n"))
        seq = self.cursor()
        messages = re.findall(r"id: (\d+)\ndata: (.*)\n\n", body)
        self.assertEqual(
            [(int(i), json.loads(d)) for i, d in messages],
            [
                (
                    seq,
                    {
                        "claim": claim.pk,
                        "document": self.document.pk,
                        "pages": ["reader", "dashboard"],
                        "new": True,
                    },
                )
            ],
        )
        self.assertTrue(body.endswith(f"id: {seq}\n\n"))  # the cursor to resume from

    @override_settings(LIVE_STREAM_WSGI=True, LIVE_STREAM_SECONDS=0.3, LIVE_POLL_SECONDS=0.05)
    def test_last_event_id_resumes_and_wins_over_after(self) -> None:
        make_claim(document=self.document, actor=self.creator, exact="last year")
        self.client.force_login(self.reviewer_a)
        response = self.client.get(
            self.events_url, {"after": 0}, HTTP_LAST_EVENT_ID=str(self.cursor())
        )
        body = b"".join(response.streaming_content).decode()
        self.assertNotIn("data:", body)

    @override_settings(LIVE_STREAM=False)
    def test_with_streams_off_the_stream_answers_204(self) -> None:
        self.client.force_login(self.reviewer_a)
        self.assertEqual(self.client.get(self.events_url).status_code, 204)
        self.assertEqual(self.client.get(self.changes_url, {"after": 0}).status_code, 200)

    @override_settings(LIVE_STREAM=True, LIVE_STREAM_WSGI=False)
    def test_a_wsgi_server_answers_204_so_browsers_poll(self) -> None:
        # An open stream would hold a WSGI worker for minutes: only ASGI streams by default.
        self.client.force_login(self.reviewer_a)
        response = self.client.get(self.events_url)
        self.assertEqual(response.status_code, 204)
        self.assertFalse(response.streaming)


class LiveGoldTests(TestCase, Personas):
    """A gold claim presents to plain reviewers as an ordinary claim in review: nothing
    about its gold mark, nor any change of it, reaches them."""

    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_personas()
        cls.claim = make_claim(document=cls.document, actor=cls.creator, exact="crime fell 20%")
        judge(cls.claim, cls.reviewer_a, "false")
        judge(cls.claim, cls.reviewer_b, "false")  # resolved

    def test_marking_gold_reaches_editors_only(self) -> None:
        before = selectors.live_cursor(project_id=self.project.pk)
        services.gold_mark(claim=self.claim, actor=self.editor)
        membership = self.project.memberships.get(user=self.reviewer_c)
        changes, _ = selectors.live_changes(
            user=self.reviewer_c, membership=membership, after=before
        )
        self.assertEqual(changes, [])
        editor = self.project.memberships.get(user=self.editor)
        changes, _ = selectors.live_changes(user=self.editor, membership=editor, after=before)
        self.assertEqual([c.claim for c in changes], [self.claim.pk])

    def test_a_gold_claim_keeps_the_history_of_a_claim_in_review(self) -> None:
        # The outside probe: a reviewer who had not judged it was told of every claim's
        # creation but the gold one's, so the claim without a "new" change was the gold one.
        other = make_claim(document=self.document, actor=self.creator, exact="bridge cost")
        services.gold_mark(claim=self.claim, actor=self.editor)
        services.claim_schedule(claim=self.claim, actor=self.editor, priority="urgent")
        membership = self.project.memberships.get(user=self.reviewer_c)
        changes, _ = selectors.live_changes(user=self.reviewer_c, membership=membership, after=0)
        new = {c.claim for c in changes if c.new}
        self.assertEqual(new, {self.claim.pk, other.pk})
        gold = [c for c in changes if c.claim == self.claim.pk]
        # its creation only: not its verdicts, resolution, gold mark or schedule
        self.assertEqual([(c.new, c.pages) for c in gold], [(True, ("reader", "dashboard"))])


@pytest.mark.postgres("LISTEN/NOTIFY")
class LiveNotifyTests(TransactionTestCase):
    """On PostgreSQL the event table's trigger (migration 0022) sends NOTIFY
    ``<project>:<seq>`` when the writing transaction commits, and nothing on rollback."""

    def test_a_committed_event_notifies_its_project_and_seq(self) -> None:
        import psycopg

        admin = make_user("admin")
        project = make_project(creator=admin)
        params = {
            k: v
            for k, v in connection.get_connection_params().items()
            if k in ("dbname", "user", "password", "host", "port")
        }
        with psycopg.connect(**params, autocommit=True) as listener:
            listener.execute("LISTEN workbench_events")
            document = make_document(project=project, actor=admin)
            seq = selectors.live_cursor(project_id=project.pk)
            notes = [n.payload for n in listener.notifies(timeout=2, stop_after=1)]
            self.assertEqual(notes, [f"{project.pk}:{seq}"])
            # a rolled-back write notifies nobody
            with contextlib.suppress(RuntimeError), transaction.atomic():
                make_claim(document=document, actor=admin, exact="crime fell 20%")
                raise RuntimeError("roll back")
            self.assertEqual(list(listener.notifies(timeout=0.5)), [])


@pytest.mark.postgres("LISTEN/NOTIFY")
class LiveStreamListenTests(TransactionTestCase):
    """Under ASGI a stream waits on the process's LISTEN connection: a committed change
    wakes it at once, long before its polling interval (5 s here) would."""

    @override_settings(LIVE_STREAM_SECONDS=10, LIVE_HEARTBEAT_SECONDS=10, LIVE_POLL_SECONDS=5)
    def test_a_notification_wakes_the_stream_within_a_second(self) -> None:
        import asyncio

        from asgiref.sync import sync_to_async

        from workbench import live

        admin = make_user("admin")
        project = make_project(creator=admin)
        reviewer = make_member(project, "rita")
        document = make_document(project=project, actor=admin)
        membership = project.memberships.get(user=reviewer)
        cursor = selectors.live_cursor(project_id=project.pk)

        def write() -> int:
            try:
                return make_claim(document=document, actor=admin, exact="crime fell 20%").pk
            finally:
                connection.close()

        async def scenario() -> tuple[bytes, float, int]:
            loop = asyncio.get_running_loop()
            stream = live.stream_async(user=reviewer, membership=membership, cursor=cursor)
            self.assertTrue((await anext(stream)).startswith(b"retry: "))
            listener = live._listeners[loop]
            for _ in range(100):
                if listener.listening:
                    break
                await asyncio.sleep(0.05)
            self.assertTrue(listener.listening)
            waiting = asyncio.ensure_future(anext(stream))
            await asyncio.sleep(0.3)  # the stream has read (nothing) and waits
            started = loop.time()
            claim = await sync_to_async(write, thread_sensitive=False)()
            chunk = await asyncio.wait_for(waiting, timeout=3)
            elapsed = loop.time() - started
            await stream.aclose()
            return chunk, elapsed, claim

        chunk, elapsed, claim = run_in_own_loop(scenario())
        self.assertIn(f'"claim":{claim}'.encode(), chunk)
        self.assertIn(b'"new":true', chunk)
        self.assertLess(elapsed, 1.0)
