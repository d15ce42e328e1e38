"""API: cursor pagination of the lists and their query-count ceilings."""

from __future__ import annotations

from base64 import b64encode, urlsafe_b64encode
from urllib.parse import parse_qs, urlsplit

from django.conf import settings
from django.core import signing
from django.db import connection
from django.test.utils import CaptureQueriesContext

from annotations.models import Claim, Document, Notification, NotificationKind
from annotations.services import notifications
from tests.api.base import API, ApiTestCase
from tests.factories import judge, make_claim, make_document


class CursorPaginationTests(ApiTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        for i in range(6):
            document = make_document(
                project=cls.project, actor=cls.editor, text=f"Paged text {i} says things."
            )
            make_claim(document=document, actor=cls.creator, exact="says things")
        notify_reviewer_a(cls, 2)

    def walk(self, path: str, page_size: int) -> list[int]:
        ids: list[int] = []
        url: str | None = f"{API}{path}?page_size={page_size}"
        client = self.client_for(self.reviewer_a)
        pages = 0
        while url:
            response = client.get(url)
            self.assertEqual(response.status_code, 200, response.content)
            body = response.json()
            self.assertEqual(set(body), {"next", "previous", "results"})
            self.assertLessEqual(len(body["results"]), page_size)
            ids += [row["id"] for row in body["results"]]
            url = body["next"]
            pages += 1
            self.assertLess(pages, 20)
        return ids

    def test_documents_page_by_cursor_without_duplicates(self) -> None:
        ids = self.walk("/documents/", 2)
        self.assertEqual(
            ids, sorted(Document.objects.filter(project=self.project).values_list("id", flat=True))
        )
        self.assertEqual(len(ids), 7)

    def test_claims_page_by_cursor_without_duplicates(self) -> None:
        ids = self.walk("/claims/", 4)
        self.assertEqual(ids, sorted(Claim.objects.values_list("id", flat=True)))
        self.assertEqual(len(ids), 6)

    def test_next_links_keep_the_filters(self) -> None:
        first = self.get(
            self.reviewer_a, "/claims/", {"page_size": 1, "status": "in_review"}
        ).json()
        self.assertIn("status=in_review", first["next"])
        self.assertIsNone(first["previous"])
        second = self.client_for(self.reviewer_a).get(first["next"]).json()
        self.assertIsNotNone(second["previous"])

    def test_page_size_takes_ascii_digits_from_1_or_is_a_400_naming_it(self) -> None:
        for path in ("/documents/", "/claims/"):
            with self.subTest(path=path):
                ok = self.get(self.reviewer_a, path, {"page_size": "2"})
                self.assertEqual(ok.status_code, 200)
                self.assertEqual(len(ok.json()["results"]), 2)
                most = self.get(self.reviewer_a, path, {"page_size": "9" * 30})  # read as 500
                self.assertEqual(most.status_code, 200)
                # More digits than int() converts (4,300) read as 500 too, never a 500.
                most = self.get(self.reviewer_a, path, {"page_size": "9" * 5000})
                self.assertEqual(most.status_code, 200)
                for bad in (
                    "\u0665",
                    "\uff15",
                    "1_0",
                    "abc",
                    "0",
                    "-5",
                    "",
                    " 5",
                    "5 ",
                    "+5",
                    "5.0",
                    "-0",
                ):
                    self.assertFieldError(
                        self.get(self.reviewer_a, path, {"page_size": bad}),
                        "page_size",
                        "Enter a whole number from 1; pages hold at most 500.",
                    )
                # The message is true: 501 is no error, a page of at most 500.
                self.assertEqual(
                    self.get(self.reviewer_a, path, {"page_size": "501"}).status_code, 200
                )

    def test_an_invalid_cursor_is_a_400_naming_it(self) -> None:
        response = self.get(self.reviewer_a, "/claims/", {"cursor": "bogus"})
        self.assertFieldError(response, "cursor", "Invalid cursor")

    def test_an_empty_cursor_is_a_400_saying_it_is_empty(self) -> None:
        """``?cursor=`` (or a bare ``?cursor``) is neither the first page nor a forged
        cursor: it is refused by name as empty, on every list, with other parameters too."""
        client = self.client_for(self.reviewer_a)
        for path in ("/claims/", "/documents/", "/projects/", "/notifications/"):
            for query in ("cursor=", "cursor", "page_size=2&cursor="):
                with self.subTest(path=path, query=query):
                    response = client.get(f"{API}{path}?{query}")
                    self.assertEqual(response.status_code, 400, response.content)
                    self.assertEqual(
                        response.json(), {"cursor": ["Give a value or leave the parameter out."]}
                    )
            with self.subTest(path=path, query="(none)"):
                self.assertEqual(client.get(f"{API}{path}").status_code, 200)

    def next_cursor(self, path: str, params: dict[str, str] | None = None) -> str:
        """The cursor of the ``next`` link the list hands out on its first page of 1."""
        body = self.get(self.reviewer_a, path, {"page_size": "1", **(params or {})}).json()
        self.assertIsNotNone(body["next"], path)
        query = parse_qs(urlsplit(body["next"]).query)
        return query["cursor"][0]

    def test_a_forged_cursor_is_a_400_on_cursor(self) -> None:
        """Outside probe: DRF's cursor is base64 of ``o=&r=&p=``, so ``cD05`` (``p=9``)
        started a page at 9, ``eD0x`` (``x=1``) gave the first page and ``bz0xJnA9Mw==``
        (``o=1&p=3``) an offset: 200s for cursors the API never handed out."""
        real = self.next_cursor("/claims/")
        payload = real.split(".")[0]
        forged = [
            "cD05",  # p=9
            "eD0x",  # x=1
            "bz0xJnA9Mw==",  # o=1&p=3
            "cD1hYmM=",  # p=abc
            b64encode(b"r=1").decode(),
            payload,  # a real cursor's payload without its signature
            payload + ".",
            "." + real.split(".")[1],
            urlsafe_b64encode(b"p=9").decode().rstrip("=") + "." + real.split(".")[1],
            "%00",
        ]
        for path in ("/claims/", "/documents/", "/projects/", "/notifications/"):
            for cursor in forged:
                with self.subTest(path=path, cursor=cursor):
                    response = self.get(self.reviewer_a, path, {"cursor": cursor})
                    self.assertFieldError(
                        response, "cursor", "Invalid cursor: not one this API handed out."
                    )

    def test_a_real_cursor_with_one_character_changed_is_a_400(self) -> None:
        real = self.next_cursor("/claims/")
        self.assertEqual(self.get(self.reviewer_a, "/claims/", {"cursor": real}).status_code, 200)
        for index in range(len(real)):
            if real[index] == ".":
                continue
            changed = real[:index] + ("A" if real[index] != "A" else "B") + real[index + 1 :]
            with self.subTest(index=index, cursor=changed):
                response = self.get(self.reviewer_a, "/claims/", {"cursor": changed})
                self.assertFieldError(response, "cursor", "not one this API handed out")

    def test_a_cursor_from_another_list_is_a_400(self) -> None:
        """A cursor is signed for its list (path and ordering): one from the claims is
        refused by the documents and the notifications (newest first), and the other way
        round, even where the position would name a row of the other list."""
        for made_on, used_on in (
            ("/claims/", "/documents/"),
            ("/documents/", "/claims/"),
            ("/claims/", "/notifications/"),
            ("/notifications/", "/claims/"),
            ("/documents/", "/projects/"),
        ):
            with self.subTest(made_on=made_on, used_on=used_on):
                cursor = self.next_cursor(made_on)
                ok = self.get(self.reviewer_a, made_on, {"cursor": cursor})
                self.assertEqual(ok.status_code, 200, ok.content)
                response = self.get(self.reviewer_a, used_on, {"cursor": cursor})
                self.assertFieldError(response, "cursor", "not one this API handed out")

    def test_a_cursor_is_signed_with_the_secret_key(self) -> None:
        """Any process with the deployment's key takes a cursor (nothing kept in memory);
        after a key rotation it still works while the old key is a fallback."""
        cursor = self.next_cursor("/claims/")
        old = settings.SECRET_KEY
        with self.settings(SECRET_KEY="another-key-" + "x" * 50):
            response = self.get(self.reviewer_a, "/claims/", {"cursor": cursor})
            self.assertFieldError(response, "cursor", "not one this API handed out")
        with self.settings(SECRET_KEY="another-key-" + "x" * 50, SECRET_KEY_FALLBACKS=[old]):
            response = self.get(self.reviewer_a, "/claims/", {"cursor": cursor})
            self.assertEqual(response.status_code, 200, response.content)

    def test_a_cursor_is_url_safe_and_short(self) -> None:
        cursor = self.next_cursor("/claims/")
        self.assertRegex(cursor, r"\A[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\Z")
        self.assertLess(len(cursor), 80)

    def test_a_signed_cursor_position_is_still_checked(self) -> None:
        """Issue 13, finding 3: a cursor whose position is not an id (``p=abc``) reached the
        query and made a 500. Only the API signs cursors now, but the position is checked
        after the signature as well, so only a number reaches the database."""
        cursors = {
            "p=abc": "position is not an id",
            "p=": "position is not an id",
            "p=1e5": "position is not an id",
            "p=-1": "position is not an id",
            "p=99999999999999999999": "position is not an id",
            "p=9223372036854775808": "out of range",
            "o=1e5&p=1": "not one this API handed out",
            "r=2&p=1": "not one this API handed out",
        }
        for path in ("/claims/", "/documents/", "/projects/"):
            for querystring, reason in cursors.items():
                with self.subTest(path=path, cursor=querystring):
                    cursor = signed_cursor(path, "id", querystring)
                    response = self.get(self.reviewer_a, path, {"cursor": cursor})
                    self.assertFieldError(response, "cursor", "Invalid cursor", reason)
        # The same signing makes a cursor the API takes (so the refusals above are the
        # position's, not the signature's).
        response = self.get(
            self.reviewer_a, "/claims/", {"cursor": signed_cursor("/claims/", "id", "p=1")}
        )
        self.assertEqual(response.status_code, 200, response.content)

    def test_a_cursor_this_api_handed_out_still_works(self) -> None:
        first = Claim.objects.order_by("id").first()
        assert first is not None
        cursor = self.next_cursor("/claims/")
        body = self.get(self.reviewer_a, "/claims/", {"cursor": cursor}).json()
        self.assertEqual(
            [row["id"] for row in body["results"]],
            sorted(Claim.objects.filter(pk__gt=first.pk).values_list("id", flat=True)),
        )
        # and its previous link leads back to the first page
        back = self.client_for(self.reviewer_a).get(body["previous"])
        self.assertEqual(back.status_code, 200, back.content)
        self.assertEqual([row["id"] for row in back.json()["results"]], [first.pk])


def notify_reviewer_a(cls: type[ApiTestCase], n: int) -> None:
    claim = Claim.objects.order_by("id").first() or make_claim(
        document=cls.document, actor=cls.creator, start=0, end=20
    )
    for i in range(n):
        notifications.notify(
            kind=NotificationKind.DECIDED,
            key=f"event:{i}",
            project_id=cls.project.pk,
            recipient_ids=[cls.reviewer_a.pk],
            actor=cls.editor,
            claim=claim,
        )


def signed_cursor(path: str, ordering: str, querystring: str) -> str:
    """A cursor signed as the paginator signs one for ``API + path`` (tests only)."""
    payload = urlsafe_b64encode(querystring.encode()).decode().rstrip("=")
    return signing.Signer(salt=f"workbench.api.cursor:/api/v1{path}:{ordering}", sep=".").sign(
        payload
    )


class NotificationPaginationTests(ApiTestCase):
    """The notifications list (newest first, its own paginator) pages by signed cursors."""

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        notify_reviewer_a(cls, 7)

    def test_following_next_gives_every_notification_once_newest_first(self) -> None:
        client = self.client_for(self.reviewer_a)
        url: str | None = f"{API}/notifications/?page_size=3"
        ids: list[int] = []
        pages = 0
        while url:
            response = client.get(url)
            self.assertEqual(response.status_code, 200, response.content)
            body = response.json()
            ids += [row["id"] for row in body["results"]]
            url = body["next"]
            pages += 1
            self.assertLess(pages, 10)
        expected = list(
            Notification.objects.filter(recipient=self.reviewer_a)
            .order_by("-id")
            .values_list("id", flat=True)
        )
        self.assertEqual(len(expected), 7)
        self.assertEqual(ids, expected)
        self.assertEqual(pages, 3)

    def test_a_cursor_signed_for_another_ordering_is_refused(self) -> None:
        cursor = signed_cursor("/notifications/", "id", "p=1")  # oldest-first ordering
        response = self.get(self.reviewer_a, "/notifications/", {"cursor": cursor})
        self.assertFieldError(response, "cursor", "not one this API handed out")
        cursor = signed_cursor("/notifications/", "-id", f"p={2**40}")
        response = self.get(self.reviewer_a, "/notifications/", {"cursor": cursor})
        self.assertEqual(response.status_code, 200, response.content)
        self.assertEqual(len(response.json()["results"]), 7)


class ListQueryCountTests(ApiTestCase):
    """The list endpoints cost the same number of queries for 1 and for 20 rows."""

    # token + user, claims page, current consensus prefetch, and (issue 18) which claims of
    # the page present as in review to the caller (gold claims; the same query for any page)
    CLAIM_LIST_QUERIES = 4
    DOCUMENT_LIST_QUERIES = 2  # token + user, documents page

    def count(self, path: str) -> tuple[int, int]:
        client = self.client_for(self.reviewer_c)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(f"{API}{path}")
        self.assertEqual(response.status_code, 200)
        return len(queries), len(response.json()["results"])

    def add_claims(self, n: int, *, resolved: int) -> None:
        """``n`` claims on a new document, the first ``resolved`` of them with a consensus
        (judged as they are created: the queue hands out the oldest eligible claim)."""
        document = make_document(
            project=self.project, actor=self.editor, text=f"Claims batch {n}: {'x' * 40}"
        )
        for i in range(n):
            claim = make_claim(document=document, actor=self.creator, start=0, end=5 + i)
            if i < resolved:
                judge(claim, self.reviewer_a, "false")
                judge(claim, self.reviewer_b, "mostly_false" if i % 2 else "false")

    def test_the_claim_list_has_a_constant_query_count(self) -> None:
        self.add_claims(1, resolved=1)
        with self.assertNumQueries(self.CLAIM_LIST_QUERIES):
            self.client_for(self.reviewer_c).get(f"{API}/claims/")
        one = self.count("/claims/")
        self.add_claims(19, resolved=6)
        many = self.count("/claims/")
        self.assertEqual((one[1], many[1]), (1, 20))
        self.assertEqual(one[0], many[0])
        with self.assertNumQueries(self.CLAIM_LIST_QUERIES):
            self.client_for(self.reviewer_c).get(f"{API}/claims/")

    def test_the_document_list_has_a_constant_query_count(self) -> None:
        one = self.count("/documents/")
        for i in range(19):
            make_document(project=self.project, actor=self.editor, text=f"Document number {i}.")
        many = self.count("/documents/")
        self.assertEqual((one[1], many[1]), (1, 20))
        self.assertEqual(one[0], many[0])
        with self.assertNumQueries(self.DOCUMENT_LIST_QUERIES):
            self.client_for(self.reviewer_c).get(f"{API}/documents/")
