"""ORM filter and ordering injection (B.6 #1; Label Studio CVE-2023-47117).

No request data ever names an ORM lookup. List endpoints accept a fixed vocabulary of
filters (django-filter) plus their pagination parameters; anything else, such as
``?reviewer__password__startswith=`` or ``?ordering=``, is a 400 naming the parameter,
and the answer does not depend on the value (no count or timing oracle). Bad values of
known filters are a 400 too. A static check keeps ``**request-data`` out of query calls.
"""

from __future__ import annotations

import ast
from pathlib import Path

from django.conf import settings
from django.test import TestCase

from tests.security.world import API, World

LISTS = ("/projects/", "/documents/", "/claims/")
# Lookups that would read other tables or password hashes, operator suffixes, orderings.
EVIL_PARAMS = [
    "reviewer__password__startswith",
    "created_by__password__startswith",
    "created_by__password__regex",
    "project__memberships__user__password__startswith",
    "verdicts__rationale__icontains",
    "verdicts__reviewer__username",
    "document__project__name",
    "id__gt",
    "project__in",
    "status__in",
    "pk",
    "ordering",
    "order_by",
    "search",
    "format",
    "fields",
    "expand",
    "q",
    "project__id",
    "project_id",
]


class InjectionTests(World, TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_world()

    def setUp(self) -> None:
        self.client_a = self.api(self.reviewer_a)

    def test_unknown_parameters_are_a_400_naming_them(self) -> None:
        for path in LISTS:
            for name in EVIL_PARAMS:
                with self.subTest(path=path, param=name):
                    response = self.client_a.get(f"{API}{path}", {name: "p"})
                    self.assertEqual(response.status_code, 400, response.content)
                    self.assertEqual(response.json(), {name: ["Unknown query parameter."]})

    def test_the_answer_does_not_depend_on_the_value(self) -> None:
        # A true prefix of every hash and an impossible one answer identically: no oracle.
        for path in LISTS:
            for name in ("created_by__password__startswith", "ordering"):
                with self.subTest(path=path, param=name):
                    answers = {
                        self.client_a.get(f"{API}{path}", {name: value}).content
                        for value in ("", "m", "md5$", "pbkdf2", "zzzz", "-created_by__password")
                    }
                    self.assertEqual(len(answers), 1, answers)

    def test_known_filters_with_bad_values_are_a_400(self) -> None:
        cases = [
            ("/documents/", "project", "abc"),
            ("/documents/", "project", "1.5"),
            ("/documents/", "project", "0"),
            ("/documents/", "project", "-1"),
            ("/documents/", "project", str(2**63)),
            ("/documents/", "project", "99999999999999999999999"),
            ("/claims/", "document", "1e3"),
            ("/claims/", "project", "\u0661"),
            ("/claims/", "status", "in_review' OR '1'='1"),
            ("/claims/", "status", "bogus"),
        ]
        for path, name, value in cases:
            with self.subTest(path=path, param=name, value=value):
                response = self.client_a.get(f"{API}{path}", {name: value})
                self.assertEqual(response.status_code, 400, response.content)
                self.assertIn(name, response.json())

    def test_known_filters_and_pagination_still_work(self) -> None:
        response = self.client_a.get(
            f"{API}/claims/", {"project": self.project.pk, "status": "in_review", "page_size": 5}
        )
        self.assertEqual(response.status_code, 200)
        self.assertEqual([row["id"] for row in response.json()["results"]], [self.blind.pk])
        self.assertEqual(self.client_a.get(f"{API}/claims/", {"cursor": "x"}).status_code, 400)

    def test_detail_parameters_come_from_a_fixed_vocabulary_too(self) -> None:
        d, p = self.document.pk, self.project.pk
        cases = [
            (f"/documents/{d}/", {"include": "verdicts"}, "include"),
            (f"/documents/{d}/export/", {"format": "csv"}, "format"),
            (f"/documents/{d}/export/", {"format": "../../etc/passwd"}, "format"),
            (f"/projects/{p}/export/", {"format": "json"}, "format"),
            (f"/projects/{p}/agreement/", {"document": "1 OR 1=1"}, "document"),
        ]
        for path, params, field in cases:
            with self.subTest(path=path, params=params):
                response = self.client_a.get(f"{API}{path}", params)
                self.assertEqual(response.status_code, 400, response.content)
                self.assertIn(field, response.json())

    def test_ui_search_treats_sql_and_lookups_as_text(self) -> None:
        client = self.browser(self.reviewer_a)
        for query in ("' OR 1=1 --", "title__startswith", '") UNION SELECT password', "%_%"):
            with self.subTest(q=query):
                response = client.get(
                    f"/projects/{self.project.slug}/documents/",
                    {"q": query, "ordering": "-created_by__password"},
                )
                self.assertEqual(response.status_code, 200)
                self.assertNotContains(response, self.document.get_absolute_url())


class PathTraversalTests(TestCase):
    """B.6 #13: nothing outside the static roots is reachable through /static/, and no
    route takes a file name (exports are named from ids and slugs)."""

    def test_static_paths_cannot_climb_out(self) -> None:
        for path in (
            "/static/../workbench/settings.py",
            "/static/%2e%2e/workbench/settings.py",
            "/static/%2e%2e%2fworkbench%2fsettings.py",
            "/static/workbench/..%2f..%2fsettings.py",
            "/static/..%5c..%5cworkbench%5csettings.py",
            "/static//etc/passwd",
            "/static/%2fetc%2fpasswd",
            "/static/workbench/%00.css",
        ):
            with self.subTest(path=path):
                response = self.client.get(path)
                self.assertIn(response.status_code, (400, 404), path)
                self.assertNotIn(b"SECRET_KEY", b"".join(response))


class NoDynamicLookupTests(TestCase):
    """Static rule (elttam's django-orm-dynamic-lookup): in views and API code, no ``**``
    argument reaches ``filter``/``exclude``/``get``/``order_by``/``annotate``/``values``."""

    QUERY_METHODS = frozenset(
        {"filter", "exclude", "get", "order_by", "annotate", "alias", "values", "extra"}
    )

    def test_views_never_expand_a_mapping_into_a_query(self) -> None:
        root = Path(settings.BASE_DIR)
        files = [*root.glob("workbench/ui/*.py"), *root.glob("annotations/api/*.py")]
        self.assertGreaterEqual(len(files), 6)
        offenders = []
        for path in files:
            for node in ast.walk(ast.parse(path.read_text())):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr in self.QUERY_METHODS
                    and any(keyword.arg is None for keyword in node.keywords)
                    and not _is_super_call(node.func.value)  # super().get(request, **kwargs)
                ):
                    offenders.append(f"{path.relative_to(root)}:{node.lineno}")
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr in {"raw", "extra", "RawSQL"}
                ):
                    offenders.append(f"{path.relative_to(root)}:{node.lineno} (raw SQL)")
        self.assertEqual(offenders, [])


def _is_super_call(node: ast.expr) -> bool:
    return (
        isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "super"
    )
