"""Exact query counts of the pages, list endpoints and exports, for 0, 50 and 2,000 claims.

A count that grows with the data is an N+1; a count that changes at all is a regression
to look at. These are counts, never times (times live in bench/). The claims are written
with ``bulk_create`` (a test, not a benchmark) and each has two verdicts with a citation;
every other claim has a consensus record.
"""

from __future__ import annotations

import datetime as dt

from django.db import connection
from django.test import TestCase
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from annotations import services
from annotations.models import (
    Citation,
    Claim,
    Consensus,
    Document,
    Project,
    Rating,
    Role,
    Source,
    Verdict,
)
from tests.factories import (
    Personas,
    add_member,
    api_token,
    judge,
    make_claim,
    make_document,
    make_project,
)

SIZES = (0, 50, 2000)
HX = {"HTTP_HX_REQUEST": "true"}
# About two and a half reader windows of text, with astral characters.
LINE = "The council said the harbour budget rose 12.5% last year, officials claim. 🌉\n"
LONG_TEXT = LINE * 1_600

# The exact counts, as (editor, reviewer): a reviewer's blind-review check can cost one more.
# Issue 18: +1 on every full page for a signed-in user: the header's unread notifications.
# Issue 18 (gold calibration): +1 for reviewers on every page, list and export that shows
# claims (which gold claims present to them as in review, ``access.claims_present_for``);
# the same query whether or not any claim is gold, so the count reveals nothing. Editors
# are never masked (no query), but their claim page reads the claim's gold mark (+1).
# Issue 19 (live updates): +1 on the reader page and the dashboard, the project's audit
# chain position the page was rendered at (the live-update stream's starting cursor).
# session, user, document + membership, text window, claims, claim count, bell, cursor
READER_PAGE = (8, 9)
READER_WINDOW = (6, 7)  # the same for a further window fetched by htmx (no header)
# The claim page: +2 since issue 14 (whether the claim was ever judged, for the edit rule;
# its earlier versions), +1 since issue 15 (its publication versions), +2 for those who may
# edit or revise it (the claimant suggestions of those forms: registry names, claimant texts).
# Issue 16: -1 (citations are loaded with their source and evidence by joins).
# Issue 18: +1 the claim's reservations (directed assignment: editors see the assignees,
# a reviewer whether the claim is assigned to them; the user's lease and whether they
# skipped the claim share one query), +1 the bell, +1 the discussion's comments (with
# their authors), for a reviewer +1 whether they have judged the claim (the
# discussion's blind rule), +1 the gold mark (editors) or the gold mask (reviewers).
CLAIM_PAGE = (18, 18)
# GET /documents/{id}/?include=claims (token): token, document + membership, the claims
# with their creators, the current consensus of the decided ones (none read when no claim
# is decided); a reviewer's + the gold claims they may not see decided (only when one of
# the claims is resolved).
DOCUMENT_WITH_CLAIMS = (4, 5)
# Issue 16: +1 the sources at risk (the claims citing them only when there are some),
# +1 for editors the published claims whose sources changed.
# Issue 18: +2 the claims assigned to the user and the overdue claims, +1 the bell.
# Issue 20: -2 the agreement figures added up by the database in one statement with the
# scale (they read the scale, every counted verdict, then the current consensus).
DASHBOARD = (17, 16)  # issue 19: +1 the live-update cursor
# GET /projects/{id}/ (token): token, project + membership, the rating scale. Issue 20: -1,
# the caller's role is the membership just read (not all of their memberships again).
PROJECT_DETAIL = (3, 3)
# GET /claims/{id}/ (token): token, claim + project + document + creator + membership, the
# current consensus when the claim is decided, for a reviewer the gold mask. Issue 20: -1,
# the claim is presented as the lookup read it (it was read again with its creator).
CLAIM_DETAIL = (3, 4)
API_LISTS = {  # token authentication is the first query of each
    "project-list": (4, 4),
    "document-list": (2, 2),
    "claim-list": (4, 4),  # issue 18: +1 which claims present as in review (gold)
    "project-members": (3, 3),
    "claim-verdicts": (4, 5),  # issue 16: -1, citations joined to their sources
    "claim-consensus": (4, 5),  # issue 18: +1 for reviewers (a gold claim shows none)
}
# Project export: token, project + membership, membership, then five queries per chunk
# (claims, verdicts, citations, consensus, links) of 125, 250, 500 and then 1,000 claims
# (the first line goes out after a small read): one chunk for 1 and 51 claims, five for 2,001.
PROJECT_EXPORT_BASE = 3
PROJECT_EXPORT_PER_CHUNK = 5


def export_chunks(claims: int, first: int = 125, most: int = 1000) -> int:
    """How many chunks the project export reads ``claims`` claims in: the first holds
    ``first`` claims and each next one twice as many, up to ``most``."""
    chunks, size = 0, first
    while claims > 0:
        chunks, claims, size = chunks + 1, claims - size, min(size * 2, most)
    return chunks


DOCUMENT_EXPORT = {
    "json": (9, 9),
    # Issue 15: built from publication versions only (token, document + membership, the
    # versions), whatever the number of claims.
    "claimreview": (3, 3),
    "webannotation": (9, 9),
}
# POST /claims/ (inside the test's transaction, so savepoints count): token, savepoint,
# document + membership + text window read under the document lock (one statement),
# the claim inserted unless a claim holds the span (one statement), the audit chain's head
# (locked), event, head update, release.
# With an Idempotency-Key (here on the span the first POST claimed, with another statement):
# + key lookup, savepoint, expired-key purge, key insert, key update, release, and, the span
# being taken, the duplicate rule read and a plain insert. A replay: token and key lookup.
# Issue 20: -1 the document lock taken by the window's read; -1 the access check that also
# locks the document and reads the window (services.claim_create_as_member); -1 the
# duplicate check folded into the insert on a free span; on PostgreSQL -2 more, the event's
# append (lock the head, insert, move the head) is one statement, and -1 more, the claim and
# its event are inserted by one statement (services._base._insert_unless_exists(events=…)):
# token, savepoint, document + window, claim + event, release (with a key, on a taken span,
# the plain insert and the event stay two statements).
CLAIM_POST = {"without a key": 8, "with a key": 16, "replayed": 2}
CLAIM_POST_PG = {"without a key": 5, "with a key": 14, "replayed": 2}
# POST /documents/ with a list (bulk import), by number of documents: token, project +
# membership, savepoint, the texts already in the project (one query), the rows, the audit
# chain's head (locked), the events (one INSERT), head update, release. The rows: on SQLite
# one INSERT per 50 documents (BULK_INSERT_BATCH); on PostgreSQL one query for the ids,
# then a COPY, which Django's query log does not see. Then the tasks that follow the texts
# (their suggestions, their repeats scans): one INSERT in the transaction
# (documents.text_tasks_enqueue; before, a transaction of their own once it had committed,
# which this count did not see). On PostgreSQL up to 16 events are
# appended in one statement (head locked, events sealed and inserted, head moved): -2 for 3.
BULK_IMPORT = {3: 10, 120: 12}
BULK_IMPORT_PG = {3: 8, 120: 10}
# A book-length document (1 MB of text) costs a claim what an article does: the text is
# never loaded, only the window around the span.
BOOK_TEXT = LINE * (1_000_000 // len(LINE))


def _bulk_claims(document: Document, count: int, *, creator, reviewers, source: Source) -> None:
    """``count`` claims spread over the document, two verdicts each (with a citation),
    consensus on every other one: written with bulk_create."""
    if not count:
        return
    ratings = list(Rating.objects.filter(project=document.project).order_by("position"))
    now = timezone.now()
    step = (document.length - 200) // count
    claims = Claim.objects.bulk_create(
        Claim(
            project_id=document.project_id,
            document=document,
            start=i * step,
            end=i * step + 40 + i % 90,
            exact=document.text[i * step : i * step + 40 + i % 90],
            statement=f"Claim {i} <b>bold</b>",
            status="in_review",  # every other one resolved below, once its consensus exists
            created_by=creator,
        )
        for i in range(count)
    )
    verdicts = Verdict.objects.bulk_create(
        Verdict(
            claim=claim,
            reviewer=reviewer,
            rating=ratings[(claim.pk + k) % 3],
            confidence="high",
            rationale="Checked.",
            submitted_at=now + dt.timedelta(seconds=k),
        )
        for claim in claims
        for k, reviewer in enumerate(reviewers)
    )
    Citation.objects.bulk_create(
        Citation(verdict=verdict, source=source, quote="q", stance="supports")
        for verdict in verdicts
    )
    decided = Consensus.objects.bulk_create(
        Consensus(claim=claim, sequence=1, rating=ratings[0], method="unanimous", agreement=1.0)
        for i, claim in enumerate(claims)
        if i % 2
    )
    # A resolved claim points at its current consensus (the lifecycle's check constraint).
    for record in decided:
        record.claim.status, record.claim.consensus = "resolved", record
    Claim.objects.bulk_update([r.claim for r in decided], ["status", "consensus"], batch_size=500)
    by_claim: dict[int, list[Verdict]] = {}
    for verdict in verdicts:
        by_claim.setdefault(verdict.claim_id, []).append(verdict)
    Consensus.verdicts.through.objects.bulk_create(
        Consensus.verdicts.through(consensus=record, verdict=verdict)
        for record in decided
        for verdict in by_claim[record.claim_id]
    )


class DeskTestCase(Personas, TestCase):
    """Three desks with the same long document and a probe claim, plus 0, 50 or 2,000 claims."""

    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_personas(required_reviews=2)
        cls.desks: dict[int, tuple[Project, Document, Claim]] = {}
        for size in SIZES:
            project = make_project(creator=cls.admin, name=f"Desk {size}", required_reviews=2)
            add_member(project, cls.editor, Role.EDITOR)
            for user in (cls.creator, cls.reviewer_a, cls.reviewer_b, cls.reviewer_c):
                add_member(project, user, Role.REVIEWER)
            document = make_document(
                project=project, actor=cls.creator, text=LONG_TEXT, title=f"Long {size}"
            )
            source = Source.objects.create(
                project=project,
                created_by=cls.reviewer_b,
                url="https://example.org/s",
                normalized_url="https://example.org/s",
                title="S",
            )
            # The probe: a claim judged by both reviewers through the services.
            probe = make_claim(document=document, actor=cls.creator, start=10, end=40)
            for reviewer, rating in ((cls.reviewer_a, "true"), (cls.reviewer_b, "true")):
                judge(
                    probe,
                    reviewer,
                    rating,
                    citations=[
                        services.CitationInput(stance="supports", url="https://example.org/p")
                    ],
                )
            _bulk_claims(
                document,
                size,
                creator=cls.creator,
                reviewers=[cls.reviewer_b, cls.reviewer_c],
                source=source,
            )
            cls.desks[size] = (project, document, probe)

    def count(self, method: str, url: str, *, user=None, token: bool = False, **extra) -> int:
        """Queries of one request (a streamed response is read to the end)."""
        client = self.client
        if token:
            key = api_token(user or self.editor)
            extra["HTTP_AUTHORIZATION"] = f"Token {key}"
        else:
            client.force_login(user or self.editor)
        with CaptureQueriesContext(connection) as context:
            response = getattr(client, method)(url, **extra)
            self.assertEqual(response.status_code, 200, url)
            if response.streaming:
                b"".join(response.streaming_content)
        return len(context.captured_queries)

    def assert_counts(self, expected: tuple[int, int], url_for, **kwargs) -> None:
        user = kwargs.get("user") or self.editor
        counts = {size: self.count("get", url_for(*self.desks[size]), **kwargs) for size in SIZES}
        exact = expected[0] if user == self.editor else expected[1]
        self.assertEqual(counts, dict.fromkeys(SIZES, exact))


class QueryCountTests(DeskTestCase):
    # --- pages -----------------------------------------------------------------------------

    def test_reader_first_window(self) -> None:
        for user in (self.editor, self.reviewer_a):
            with self.subTest(user=user.username):
                self.assert_counts(READER_PAGE, lambda p, d, c: d.get_absolute_url(), user=user)

    def test_reader_further_window(self) -> None:
        self.assert_counts(
            READER_WINDOW, lambda p, d, c: f"{d.get_absolute_url()}?start=50000", **HX
        )

    def test_reader_window_is_bounded_in_size(self) -> None:
        _project, document, _ = self.desks[2000]
        self.client.force_login(self.editor)
        html = self.client.get(document.get_absolute_url()).content.decode()
        self.assertIn('class="reader-more"', html)
        self.assertIn("Claims (2001)", html)
        self.assertLess(html.count('class="claim-item"'), 2001)
        self.assertLess(len(html.encode()), 400_000)

    def test_claim_page(self) -> None:
        for user in (self.editor, self.reviewer_a):
            with self.subTest(user=user.username):
                self.assert_counts(CLAIM_PAGE, lambda p, d, c: c.get_absolute_url(), user=user)

    def test_dashboard(self) -> None:
        for user in (self.editor, self.reviewer_a):
            with self.subTest(user=user.username):
                self.assert_counts(DASHBOARD, lambda p, d, c: p.get_absolute_url(), user=user)

    def test_document_read_with_its_claims(self) -> None:
        for user in (self.editor, self.reviewer_a):
            with self.subTest(user=user.username):
                self.assert_counts(
                    DOCUMENT_WITH_CLAIMS,
                    lambda p, d, c: reverse("api:document-detail", args=[d.pk]) + "?include=claims",
                    user=user,
                    token=True,
                )
        # Claims all in review: no consensus nor gold read, for anyone.
        project, _, _ = self.desks[0]
        fresh = make_document(project=project, actor=self.creator, text=LINE * 3)
        for exact in ("harbour budget rose 12.5%", "officials claim"):
            make_claim(document=fresh, actor=self.creator, exact=exact)
        url = reverse("api:document-detail", args=[fresh.pk]) + "?include=claims"
        for user in (self.editor, self.reviewer_a):
            with self.subTest(user=user.username, claims="in review"):
                self.assertEqual(self.count("get", url, user=user, token=True), 3)

    def test_a_project_and_a_claim_read(self) -> None:
        reads = {
            "project": (PROJECT_DETAIL, lambda p, d, c: reverse("api:project-detail", args=[p.pk])),
            "claim": (CLAIM_DETAIL, lambda p, d, c: reverse("api:claim-detail", args=[c.pk])),
        }
        for name, (expected, url_for) in reads.items():
            for user in (self.editor, self.reviewer_a):
                with self.subTest(read=name, user=user.username):
                    self.assert_counts(expected, url_for, user=user, token=True)

    # --- API lists ---------------------------------------------------------------------------

    def test_every_list_endpoint(self) -> None:
        urls = {
            "project-list": lambda p, d, c: reverse("api:project-list"),
            "document-list": lambda p, d, c: reverse("api:document-list") + f"?project={p.pk}",
            "claim-list": lambda p, d, c: reverse("api:claim-list") + f"?project={p.pk}",
            "project-members": lambda p, d, c: reverse("api:project-members", args=[p.pk]),
            "claim-verdicts": lambda p, d, c: (
                reverse("api:claim-verdicts", args=[c.pk]) + "?history=true"
            ),
            "claim-consensus": lambda p, d, c: reverse("api:claim-consensus", args=[c.pk]),
        }
        for name, url_for in urls.items():
            for user in (self.editor, self.reviewer_a):
                with self.subTest(endpoint=name, user=user.username):
                    self.assert_counts(API_LISTS[name], url_for, user=user, token=True)

    def test_the_claim_list_follows_its_cursor_at_the_same_cost(self) -> None:
        project, _, _ = self.desks[2000]
        url = reverse("api:claim-list") + f"?project={project.pk}&page_size=100"
        first = self.count("get", url, token=True)
        key = api_token(self.editor)
        page = self.client.get(url, HTTP_AUTHORIZATION=f"Token {key}").json()
        self.assertEqual(self.count("get", page["next"], token=True), first)

    # --- exports -----------------------------------------------------------------------------

    def test_project_export(self) -> None:
        for user in (self.editor, self.reviewer_a):
            with self.subTest(user=user.username):
                counts = {
                    size: self.count(
                        "get",
                        reverse("api:project-export", args=[self.desks[size][0].pk]),
                        user=user,
                        token=True,
                    )
                    for size in SIZES
                }
                chunks = {size: export_chunks(size + 1) for size in SIZES}
                expected = {
                    size: PROJECT_EXPORT_BASE + PROJECT_EXPORT_PER_CHUNK * chunks[size]
                    for size in SIZES
                }
                self.assertEqual(counts, expected)

    def test_document_export_in_every_format(self) -> None:
        for fmt in ("json", "claimreview", "webannotation"):
            with self.subTest(format=fmt):
                self.assert_counts(
                    DOCUMENT_EXPORT[fmt],
                    lambda p, d, c, fmt=fmt: (
                        reverse("api:document-export", args=[d.pk]) + f"?format={fmt}"
                    ),
                    token=True,
                )


class ReaderWindowTests(DeskTestCase):
    """The windows of a long document, fetched one after another as htmx does, show every
    character once at its offset and list every claim once."""

    def test_windows_tile_the_text_and_list_each_claim_once(self) -> None:
        import html as htmllib
        import re

        _, document, _ = self.desks[2000]
        self.client.force_login(self.reviewer_a)
        page = self.client.get(document.get_absolute_url()).content.decode()
        paragraphs = re.compile(r'<p data-start="(\d+)">(.*?)</p>', re.S)
        listed = re.findall(r'<li id="claim-(\d+)"', page)
        shown: list[tuple[int, str]] = []
        chunk, windows = page, 1
        while True:
            for start, inner in paragraphs.findall(chunk):
                shown.append((int(start), htmllib.unescape(re.sub(r"<[^>]+>", "", inner))))
            more = re.search(r'class="reader-more" hx-get="([^"]+)"', chunk)
            if not more:
                break
            chunk = self.client.get(htmllib.unescape(more.group(1)), **HX).content.decode()
            self.assertNotIn("<html", chunk)
            listed += re.findall(r'<li id="claim-(\d+)"', chunk)
            windows += 1
        self.assertGreater(windows, 2)
        position = 0
        for start, text in shown:
            self.assertEqual(document.text[start : start + len(text)], text)
            self.assertTrue(start >= position and set(document.text[position:start]) <= {"\n"})
            position = start + len(text)
        self.assertEqual(position, document.length - 1)  # all but the final newline
        ids = [int(i) for i in listed]
        self.assertEqual(len(ids), len(set(ids)))
        self.assertEqual(
            sorted(ids),
            sorted(Claim.objects.filter(document=document).values_list("id", flat=True)),
        )

    def test_a_start_outside_the_text_is_404(self) -> None:
        _, document, _ = self.desks[0]
        self.client.force_login(self.reviewer_a)
        for start in (str(document.length), "-1", "x", "²"):
            with self.subTest(start=start):
                response = self.client.get(document.get_absolute_url(), {"start": start})
                self.assertEqual(response.status_code, 404)


class WriteQueryCountTests(Personas, TestCase):
    """The cost of creating a claim through the API, with and without an Idempotency-Key,
    and of a bulk import of documents (the same whatever its size, but for SQLite's
    INSERT batches)."""

    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_personas()

    def test_claim_post(self) -> None:
        key = api_token(self.creator)
        start = self.document.text.index("crime fell 20%")
        url = reverse("api:claim-list")
        counts = {}
        for label, statement, extra in (
            ("without a key", "First", {}),
            ("with a key", "Second", {"HTTP_IDEMPOTENCY_KEY": "k-1"}),
            ("replayed", "Second", {"HTTP_IDEMPOTENCY_KEY": "k-1"}),
        ):
            body = {"document": self.document.pk, "start": start, "end": start + 14}
            with CaptureQueriesContext(connection) as context:
                response = self.client.post(
                    url,
                    {**body, "statement": statement},
                    content_type="application/json",
                    HTTP_AUTHORIZATION=f"Token {key}",
                    **extra,
                )
            self.assertEqual(response.status_code, 201, response.content)
            counts[label] = len(context.captured_queries)
        self.assertEqual(counts, CLAIM_POST_PG if connection.vendor == "postgresql" else CLAIM_POST)

    def test_a_claim_on_a_book_costs_what_one_on_an_article_does(self) -> None:
        key = api_token(self.creator)
        book = make_document(project=self.project, actor=self.editor, text=BOOK_TEXT, title="Book")
        self.assertGreaterEqual(len(BOOK_TEXT.encode()), 1_000_000)
        counts = {}
        for document in (self.document, book):
            start = document.length // 2 - 20  # the middle of the text
            with CaptureQueriesContext(connection) as context:
                response = self.client.post(
                    reverse("api:claim-list"),
                    {"document": document.pk, "start": start, "end": start + 40},
                    content_type="application/json",
                    HTTP_AUTHORIZATION=f"Token {key}",
                )
            self.assertEqual(response.status_code, 201, response.content)
            self.assertEqual(response.json()["exact"], document.text[start : start + 40])
            counts[document.title] = len(context.captured_queries)
            # No statement reads the whole text: only the window's substring names it.
            for query in context.captured_queries:
                self.assertNotIn(BOOK_TEXT[:200], query["sql"])
        expected = CLAIM_POST_PG if connection.vendor == "postgresql" else CLAIM_POST
        self.assertEqual(
            counts, {"Sample": expected["without a key"], "Book": expected["without a key"]}
        )

    def test_bulk_import(self) -> None:
        key = api_token(self.editor)
        counts = {}
        for size in BULK_IMPORT:
            body = [
                {"project": self.project.pk, "title": f"Doc {i}", "text": f"Text {size}-{i}."}
                for i in range(size)
            ]
            with CaptureQueriesContext(connection) as context:
                response = self.client.post(
                    reverse("api:document-list"),
                    body,
                    content_type="application/json",
                    HTTP_AUTHORIZATION=f"Token {key}",
                )
            self.assertEqual(response.status_code, 201, response.content)
            self.assertEqual(len(response.json()), size)
            counts[size] = len(context.captured_queries)
        self.assertEqual(
            counts, BULK_IMPORT_PG if connection.vendor == "postgresql" else BULK_IMPORT
        )
