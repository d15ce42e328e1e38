"""Query parameters (``annotations.api.query``): every API endpoint refuses a parameter
it does not take with a 400 naming it, ``{"<name>": ["Unknown query parameter."]}``, and a
parameter given twice with ``{"<name>": ["Give this parameter once."]}``, before it looks
anything up or writes anything.

The check runs before the object lookup, so a non-member sending an unknown parameter gets
the 400 whether or not the object exists (it depends on the endpoint and the names only).
Anonymous callers still get 401 first; a method the endpoint does not have is still a 405.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from django.db import transaction
from django.test import TestCase
from django.urls import resolve
from drf_spectacular.generators import SchemaGenerator
from rest_framework.response import Response

from annotations.api.query import query_params_taken
from tests.api.base import API
from tests.api.test_permissions import ANON, CALLERS, EndpointMatrix, Row

UNKNOWN = ["Unknown query parameter."]
ONCE = ["Give this parameter once."]
EMPTY = ["Give a value or leave the parameter out."]
NOT_BOOLEAN = ["Enter true or false (or 1 or 0)."]
# How each boolean parameter's value spells, and what anything else is.
BOOLEANS = ("true", "True", "TRUE", "1", "false", "False", "0")
NOT_BOOLEANS = (
    "yes",
    "no",
    "on",
    "off",
    "maybe",
    "2",
    "t",
    "f",
    " 1",
    "1 ",
    "true ",
    "\u0661",
    "1.0",
)


class QueryParamMatrixTests(EndpointMatrix):
    """Every row of the permission matrix (each endpoint and method, with the body that
    succeeds for the admin), sent again with a query parameter it does not take."""

    def call_with_query(self, row: Row, caller: str, query: dict[str, Any]) -> Response:
        user = self.user_for(caller)
        client = self.client_for(user)
        extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in row.headers.items()}
        own = self.notices.get(user.pk if user is not None else 0, self.notices[self.reviewer_a.pk])
        path = API + row.path.replace("<own>", str(own))
        body = row.body_for(caller, user)
        method = getattr(client, row.method.lower())
        if row.method == "GET":
            return method(path, {**(body or {}), **query}, **extra)
        return method(f"{path}?{urlencode(query, doseq=True)}", body, format="json", **extra)

    def test_every_endpoint_refuses_an_unknown_parameter_by_name_and_writes_nothing(
        self,
    ) -> None:
        for row in self.rows():
            for caller in CALLERS:
                with (
                    self.subTest(row.name, method=row.method, caller=caller),
                    transaction.atomic(),
                ):
                    with self.assertNothingWritten():
                        response = self.call_with_query(row, caller, {"bogus": "1"})
                    if caller == ANON and row.name != "token":  # the password exchange is open
                        self.assertEqual(response.status_code, 401)
                    else:
                        # Members and non-members alike: the check comes before the lookup.
                        self.assertEqual(response.status_code, 400, response.content[:300])
                        self.assertEqual(response.json(), {"bogus": UNKNOWN})
                    transaction.set_rollback(True)

    def test_a_parameter_taken_elsewhere_is_unknown_here(self) -> None:
        # The names other endpoints take (and DRF's ?format=, which picks no renderer
        # here) are refused where they are not read.
        d, c, p = self.document.pk, self.claim.pk, self.project.pk
        cases = [
            ("GET", f"/documents/{d}/", "format", "json"),
            ("GET", f"/claims/{c}/", "include", "claims"),
            ("GET", f"/projects/{p}/members/", "page_size", "5"),
            ("GET", f"/projects/{p}/members/", "cursor", "x"),
            ("GET", f"/claims/{c}/comments/", "history", "1"),
            ("GET", f"/projects/{p}/webhooks/", "status", "failed"),
            ("GET", f"/documents/{d}/export/", "include", "claims"),
            ("POST", "/claims/", "project", str(p)),
            ("POST", f"/projects/{p}/references/", "q", "crime"),
        ]
        for method, path, name, value in cases:
            with self.subTest(method=method, path=path, name=name):
                client = self.client_for(self.admin)
                with self.assertNothingWritten():
                    if method == "GET":
                        response = client.get(API + path, {name: value})
                    else:
                        response = client.post(f"{API}{path}?{name}={value}", {}, format="json")
                self.assertEqual(response.status_code, 400, response.content)
                self.assertEqual(response.json(), {name: UNKNOWN})

    def test_a_repeated_parameter_is_refused_by_name(self) -> None:
        d, c, p = self.document.pk, self.claim.pk, self.project.pk
        cases = [
            ("/claims/", {"page_size": ["5", "10"]}, "page_size"),
            ("/claims/", {"project": [str(p), str(p)]}, "project"),
            ("/claims/", {"status": ["in_review", "resolved"]}, "status"),
            ("/documents/", {"cursor": ["a", "b"]}, "cursor"),
            ("/notifications/", {"unread": ["1", "0"]}, "unread"),
            (f"/documents/{d}/", {"include": ["claims", "claims"]}, "include"),
            (f"/documents/{d}/export/", {"format": ["json", "claimreview"]}, "format"),
            (f"/projects/{p}/export/", {"format": ["jsonl", "jsonl"]}, "format"),
            (f"/projects/{p}/agreement/", {"document": [str(d), str(d)]}, "document"),
            (f"/claims/{c}/verdicts/", {"history": ["1", "0"]}, "history"),
            (f"/documents/{d}/suggestions/", {"all": ["1", "1"]}, "all"),
            (f"/projects/{p}/claimants/suggest/", {"q": ["a", "b"]}, "q"),
            (f"/projects/{p}/references/", {"q": ["a", "b"]}, "q"),
        ]
        for path, query, name in cases:
            with self.subTest(path=path, name=name):
                response = self.get(self.admin, path + "?" + urlencode(query, doseq=True))
                self.assertEqual(response.status_code, 400, response.content)
                self.assertEqual(response.json(), {name: ONCE})

    def test_an_empty_cursor_or_include_is_refused_by_name(self) -> None:
        """An empty value is not read as the parameter left out where a value is needed
        (``VALUE_REQUIRED``): before the lookup, so a non-member and a missing id get it
        too. Elsewhere an empty value is left to the parameter (a filter: no filter)."""
        d, p = self.document.pk, self.project.pk
        cases = [
            (self.admin, "/claims/", "cursor="),
            (self.admin, "/documents/", "cursor"),
            (self.admin, f"/projects/{p}/references/", "q=crime&cursor="),
            (self.admin, "/notifications/", "cursor="),
            (self.admin, f"/documents/{d}/", "include="),
            (self.admin, f"/documents/{d}/", "include"),
            (self.outsider, f"/documents/{d}/", "include="),
            (self.outsider, "/documents/2147483000/", "include="),
        ]
        for user, path, query in cases:
            with self.subTest(path=path, query=query, user=user.username):
                response = self.get(user, f"{path}?{query}")
                self.assertEqual(response.status_code, 400, response.content)
                self.assertEqual(response.json(), {query.split("&")[-1].rstrip("="): EMPTY})
        head = self.client_for(self.admin).head(f"{API}/documents/{d}/?include=")
        self.assertEqual(head.status_code, 400)
        # Unknown and repeated still say so; an empty filter is still no filter.
        both = self.get(self.admin, "/claims/?cursor=&cursor=&include=")
        self.assertEqual(both.json(), {"cursor": ONCE, "include": UNKNOWN})
        for query in ("project=", "status=", f"project={p}&status="):
            with self.subTest(query=query):
                self.assertEqual(self.get(self.admin, f"/claims/?{query}").status_code, 200)

    def test_a_boolean_parameter_takes_true_false_1_or_0_and_refuses_the_rest_by_name(
        self,
    ) -> None:
        """One rule (``query.boolean_value``) for ``history``, ``all`` and ``unread``:
        ``yes`` or ``on`` used to be read as false (``history``), as true (``all``) or
        refused as a choice (``unread``). Empty is left out."""
        d, c = self.document.pk, self.resolved.pk
        cases = [
            (f"/claims/{c}/verdicts/", "history"),
            (f"/documents/{d}/suggestions/", "all"),
            ("/notifications/", "unread"),
        ]
        for path, name in cases:
            for value in (*BOOLEANS, ""):
                with self.subTest(path=path, value=value):
                    response = self.get(self.admin, path, {name: value})
                    self.assertEqual(response.status_code, 200, response.content)
            for value in NOT_BOOLEANS:
                with self.subTest(path=path, value=value):
                    response = self.get(self.admin, path, {name: value})
                    self.assertEqual(response.status_code, 400, response.content)
                    self.assertEqual(response.json(), {name: NOT_BOOLEAN})

    def test_each_refused_parameter_is_named(self) -> None:
        query = urlencode(
            {"page_size": ["5", "10"], "zeta": "1", "alpha": "2", "project": "1"}, doseq=True
        )
        response = self.get(self.admin, f"/claims/?{query}&alpha=3")
        self.assertEqual(response.status_code, 400)
        self.assertEqual(response.json(), {"alpha": UNKNOWN, "page_size": ONCE, "zeta": UNKNOWN})

    def test_the_parameters_an_endpoint_takes_still_work(self) -> None:
        d, p = self.document.pk, self.project.pk
        cases = [
            ("/claims/", {"project": p, "status": "in_review", "page_size": 1}),
            (f"/documents/{d}/", {"include": "claims"}),
            (f"/documents/{d}/export/", {"format": "claimreview"}),
            (f"/projects/{p}/agreement/", {"document": d}),
            (f"/claims/{self.resolved.pk}/verdicts/", {"history": "1"}),
            (f"/projects/{p}/references/", {"q": "crime", "page_size": 5}),
            (f"/projects/{p}/claimants/suggest/", {"q": "may", "limit": 3}),
            ("/notifications/", {"unread": "1"}),
        ]
        for path, query in cases:
            with self.subTest(path=path):
                self.assertEqual(self.get(self.admin, path, query).status_code, 200)
        page = self.get(self.admin, "/claims/", {"page_size": 1}).json()
        self.assertEqual(self.client_for(self.admin).get(page["next"]).status_code, 200)

    def test_a_non_member_learns_nothing_from_the_400(self) -> None:
        # Another project's document, and an id that is nobody's: the same answer.
        foreign = self.get(self.outsider, f"/documents/{self.document.pk}/", {"x": "1"})
        missing = self.get(self.outsider, "/documents/2147483000/", {"x": "1"})
        self.assertEqual((foreign.status_code, foreign.json()), (400, {"x": UNKNOWN}))
        self.assertEqual((missing.status_code, missing.content), (400, foreign.content))
        # Without the parameter both are the usual 404.
        self.assertEqual(
            self.get(self.outsider, f"/documents/{self.document.pk}/").status_code, 404
        )

    def test_a_method_the_endpoint_lacks_is_still_a_405(self) -> None:
        response = self.client_for(self.admin).put(
            f"{API}/claims/{self.claim.pk}/?bogus=1", {}, format="json"
        )
        self.assertEqual(response.status_code, 405)

    def test_head_takes_what_get_takes(self) -> None:
        client = self.client_for(self.admin)
        path = f"{API}/documents/{self.document.pk}/"
        self.assertEqual(client.head(path, {"include": "claims"}).status_code, 200)
        self.assertEqual(client.head(path, {"bogus": "1"}).status_code, 400)

    def test_the_schema_and_docs_pages_still_answer(self) -> None:
        client = self.client_for(self.admin)
        self.assertEqual(client.get("/api/schema/").status_code, 200)
        self.assertEqual(client.get("/api/docs/").status_code, 200)


class QueryParamSchemaTests(TestCase):
    """The OpenAPI schema documents what the check lets through, no more, no less."""

    def test_the_schema_lists_exactly_the_query_parameters_each_operation_takes(self) -> None:
        schema = SchemaGenerator().get_schema(request=None, public=True)
        checked = 0
        for path, operations in schema["paths"].items():
            if not path.startswith(API + "/"):
                continue
            match = resolve(re.sub(r"\{[^}]+\}", "1", path))
            view = match.func.view_class(**match.func.view_initkwargs)
            for method, operation in operations.items():
                documented = {
                    parameter["name"]
                    for parameter in operation.get("parameters", [])
                    if parameter["in"] == "query"
                }
                with self.subTest(path=path, method=method):
                    self.assertEqual(documented, set(query_params_taken(view, method)))
                    checked += 1
        self.assertGreater(checked, 90)

    def test_booleans_and_ids_and_page_size_are_typed_as_the_api_reads_them(self) -> None:
        """``history``, ``all`` and ``unread`` are booleans whose description says which
        values; the ``project`` and ``document`` filters are integers from 1 (``1.0`` is
        refused); ``page_size`` is from 1 with no maximum (a larger one reads as 500)."""
        schema = SchemaGenerator().get_schema(request=None, public=True)
        parameters: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for path, operations in schema["paths"].items():
            for operation in operations.values():
                for parameter in operation.get("parameters", []):
                    if parameter["in"] == "query":
                        parameters.setdefault((path, parameter["name"]), []).append(parameter)
        found = {"bool": 0, "id": 0, "page_size": 0}
        for (path, name), declared in parameters.items():
            for parameter in declared:
                with self.subTest(path=path, name=name):
                    if name in ("history", "all", "unread"):
                        found["bool"] += 1
                        self.assertEqual(parameter["schema"], {"type": "boolean"})
                        self.assertIn("`true` or `1`, `false` or `0`", parameter["description"])
                    elif name in ("project", "document") and path in (
                        f"{API}/claims/",
                        f"{API}/documents/",
                    ):
                        found["id"] += 1
                        self.assertEqual(parameter["schema"]["type"], "integer")
                        self.assertEqual(parameter["schema"]["minimum"], 1)
                    elif name == "page_size":
                        found["page_size"] += 1
                        self.assertEqual(parameter["schema"], {"type": "integer", "minimum": 1})
                        self.assertIn("at most 500", parameter["description"])
        self.assertEqual(found["bool"], 3)
        self.assertEqual(found["id"], 3)
        self.assertGreaterEqual(found["page_size"], 5)
