"""API: cursor pagination of the lists and their query-count ceilings."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext

from annotations.models import Claim, Document
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
                        "whole number from 1",
                    )

    def test_an_invalid_cursor_is_a_400_naming_it(self) -> None:
        response = self.get(self.reviewer_a, "/claims/", {"cursor": "bogus"})
        self.assertFieldError(response, "cursor", "Invalid cursor")

    def test_a_tampered_cursor_position_is_a_400_not_a_query(self) -> None:
        """Issue 13, finding 3: a cursor that decodes but whose position is not an id
        (``cD1hYmM=`` is ``p=abc``) reached the query and made a 500."""
        from base64 import b64encode

        cursors = {
            "cD1hYmM=": "position is not an id",  # the probe's: p=abc
            b64encode(b"p=").decode(): "position is not an id",
            b64encode(b"p=1e5").decode(): "position is not an id",
            b64encode(b"p=-1").decode(): "position is not an id",
            b64encode("p=\u0661".encode()).decode(): "not one this API handed out",
            b64encode(b"p=99999999999999999999").decode(): "position is not an id",
            b64encode(b"p=9223372036854775808").decode(): "out of range",
            b64encode(b"o=1e5&p=1").decode(): "not one this API handed out",
            "%00": "not one this API handed out",
        }
        for path in ("/claims/", "/documents/", "/projects/"):
            for cursor, reason in cursors.items():
                with self.subTest(path=path, cursor=cursor):
                    response = self.get(self.reviewer_a, path, {"cursor": cursor})
                    self.assertFieldError(response, "cursor", "Invalid cursor", reason)

    def test_a_cursor_this_api_handed_out_still_works(self) -> None:
        from base64 import b64encode

        first = Claim.objects.order_by("id").first()
        assert first is not None
        cursor = b64encode(f"p={first.pk}".encode()).decode()
        body = self.get(self.reviewer_a, "/claims/", {"cursor": cursor}).json()
        self.assertEqual(
            [row["id"] for row in body["results"]],
            sorted(Claim.objects.filter(pk__gt=first.pk).values_list("id", flat=True)),
        )


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
