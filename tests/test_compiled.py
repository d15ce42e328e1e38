"""``annotations.compiled.CompiledValues``: a queryset compiled once answers as the ORM does
for every argument, on SQLite and PostgreSQL, and refuses a query whose SQL would depend
on a value."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable
from typing import Any

from django.core.exceptions import EmptyResultSet, PermissionDenied
from django.db import connection, transaction
from django.db.models import BooleanField, Count, ExpressionWrapper, OuterRef, Q, Subquery
from django.db.models.signals import post_init
from django.http import Http404
from django.test import TestCase
from django.test.utils import CaptureQueriesContext

from annotations import access
from annotations.compiled import CompiledModels, CompiledValues, CompiledValuesList
from annotations.models import Claim, Document, Role, Verdict
from annotations.selectors.review import _READER_CLAIMS
from annotations.services import verdicts
from tests.factories import Personas, api_token, judge, make_claim, take

T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


def _claims(*, project_id: int, reviewer_id: int, after: dt.datetime, status: str):
    judged = Verdict.objects.filter(claim_id=OuterRef("pk"), reviewer_id=reviewer_id)
    return (
        Claim.objects.filter(project_id=project_id, status=status, created_at__gt=after)
        .order_by("id")
        .values(
            "id",
            "statement",
            judged_by_them=ExpressionWrapper(
                Q(pk__in=judged.values("claim_id")), output_field=BooleanField()
            ),
            their_verdicts=Subquery(
                judged.order_by().values("claim_id").annotate(n=Count("pk")).values("n")[:1]
            ),
            created=Subquery(Claim.objects.filter(pk=OuterRef("pk")).values("created_at")[:1]),
        )
    )


CLAIMS = CompiledValues(
    Claim, _claims, project_id=int, reviewer_id=int, after=dt.datetime, status=str
)


class CompiledValuesTests(Personas, TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_personas(required_reviews=2)
        cls.claims = [
            make_claim(document=cls.document, actor=cls.creator, start=i * 10, end=i * 10 + 8)
            for i in range(4)
        ]
        judge(cls.claims[0], cls.reviewer_a, "true")
        judge(cls.claims[0], cls.reviewer_b, "true")  # the second of two: resolved
        judge(cls.claims[1], cls.reviewer_a, "false")
        take(cls.claims[1], cls.reviewer_c)  # a lease, no verdict yet

    def test_it_answers_as_the_orm_for_every_argument(self) -> None:
        created = sorted(c.created_at for c in Claim.objects.all())
        cases = itertools.product(
            [self.project.pk, self.project.pk + 1000],
            [self.reviewer_a.pk, self.reviewer_b.pk, self.creator.pk],
            [created[0] - dt.timedelta(seconds=1), created[1], T0],
            ["in_review", "resolved", "no such status"],
        )
        seen = set()
        for project_id, reviewer_id, after, status in cases:
            arguments = {
                "project_id": project_id,
                "reviewer_id": reviewer_id,
                "after": after,
                "status": status,
            }
            expected = list(_claims(**arguments))
            got = CLAIMS.rows(**arguments)
            self.assertEqual(got, expected, arguments)
            for row_got, row_expected in zip(got, expected, strict=True):
                # The ORM's converters ran: a boolean is a bool, a time an aware datetime.
                self.assertIs(type(row_got["judged_by_them"]), bool)
                self.assertEqual(row_got["created"], row_expected["created"])
                self.assertIsNotNone(row_got["created"].tzinfo)
            seen.add(tuple((row["id"], row["judged_by_them"]) for row in got))
        # The arguments change the answer, so a stale parameter would show.
        self.assertGreater(len(seen), 4)
        self.assertIsNone(
            CLAIMS.one(
                project_id=self.project.pk, reviewer_id=self.reviewer_a.pk, after=T0, status="x"
            )
        )

    def test_a_bound_query_is_the_sql_the_orm_compiles_with_those_values(self) -> None:
        # What a statement written around a query (``_insert_unless_exists``) embeds.
        created = sorted(c.created_at for c in Claim.objects.all())
        for project_id, reviewer_id, status in itertools.product(
            [self.project.pk, 7], [self.reviewer_a.pk, self.creator.pk], ["in_review", "x"]
        ):
            arguments = {
                "project_id": project_id,
                "reviewer_id": reviewer_id,
                "after": created[1],
                "status": status,
            }
            orm = _claims(**arguments).query.get_compiler(using=connection.alias).as_sql()
            sql, params = CLAIMS.bind(**arguments).as_sql(connection.alias)
            self.assertEqual(sql, orm[0])
            self.assertEqual(
                [str(p) for p in params], [str(p) for p in orm[1]], arguments
            )  # the same values in the same places (psycopg may wrap an int)
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                self.assertEqual(
                    [row[0] for row in cursor.fetchall()],
                    [row["id"] for row in _claims(**arguments)],
                )

        # A value no compiled parameter takes (past 32 bits) is compiled by the ORM, which
        # knows each column's range, so the statement is the queryset's own.
        def outcome(compile_: Callable[[], tuple[str, Any]]) -> object:
            try:
                sql, params = compile_()
            except EmptyResultSet:
                return EmptyResultSet
            return sql, [str(p) for p in params]

        big = {"reviewer_id": 1, "after": created[1], "status": "in_review"}
        for project_id in (2**31, 2**40, 2**70):
            bound = outcome(
                lambda p=project_id: CLAIMS.bind(project_id=p, **big).as_sql(connection.alias)
            )
            orm = outcome(
                lambda p=project_id: (
                    _claims(project_id=p, **big).query.get_compiler(using=connection.alias).as_sql()
                )
            )
            self.assertEqual(bound, orm, project_id)
            self.assertNotEqual(
                bound, outcome(lambda: CLAIMS.bind(project_id=1, **big).as_sql(connection.alias))
            )

    def test_a_values_list_answers_as_the_orm_in_its_own_column_order(self) -> None:
        def listed(*, project_id: int, reviewer_id: int, after: dt.datetime, status: str):
            return _claims(
                project_id=project_id, reviewer_id=reviewer_id, after=after, status=status
            ).values_list("created", "id", "judged_by_them", "statement")

        compiled = CompiledValuesList(
            Claim, listed, project_id=int, reviewer_id=int, after=dt.datetime, status=str
        )
        before = min(c.created_at for c in Claim.objects.all()) - dt.timedelta(seconds=1)
        for reviewer in (self.reviewer_a, self.reviewer_b):
            for status in ("in_review", "resolved"):
                arguments = {
                    "project_id": self.project.pk,
                    "reviewer_id": reviewer.pk,
                    "after": before,
                    "status": status,
                }
                with self.subTest(reviewer=reviewer.username, status=status):
                    expected = list(listed(**arguments))
                    self.assertTrue(expected)
                    self.assertEqual(compiled.rows(**arguments), expected)
        flat = CompiledValuesList(
            Claim, lambda pk: Claim.objects.filter(pk=pk).values_list("id", flat=True), pk=int
        )
        with self.assertRaises(ValueError):
            flat.rows(pk=self.claims[0].pk)

    def test_the_verdict_facts_match_the_orm(self) -> None:
        now = dt.datetime.now(dt.UTC)
        for claim, reviewer, rating in itertools.product(
            self.claims[:3],
            [self.reviewer_a, self.reviewer_b, self.reviewer_c],
            ["true", "false", "nope"],
        ):
            expected = (
                Claim.objects.filter(pk=claim.pk)
                .values(**verdicts._submit_facts(reviewer=reviewer, rating=rating, now=now))
                .get()
            )
            got = verdicts._SUBMIT_FACTS.one(
                claim_id=claim.pk, reviewer_id=reviewer.pk, rating=rating, now=now
            )
            self.assertEqual(got, expected, (claim.pk, reviewer.username, rating))

    def test_an_argument_that_does_not_reach_the_parameters_is_refused(self) -> None:
        ignores = CompiledValues(
            Claim,
            lambda project_id, status: Claim.objects.filter(pk=project_id).values("id"),
            project_id=int,
            status=str,
        )
        with self.assertRaisesMessage(ValueError, "status did not reach the SQL"):
            ignores.rows(project_id=1, status="in_review")

    def test_arguments_of_another_type_or_missing_are_refused(self) -> None:
        arguments = {
            "project_id": self.project.pk,
            "reviewer_id": self.reviewer_a.pk,
            "after": T0,
            "status": "in_review",
        }
        for name, wrong in [
            ("project_id", None),
            ("project_id", "1"),
            ("project_id", True),
            ("status", None),
            ("after", "2026-01-01"),
        ]:
            with self.subTest(name=name, wrong=wrong), self.assertRaises(TypeError):
                CLAIMS.rows(**{**arguments, name: wrong})
        with self.assertRaises(TypeError):
            CLAIMS.rows(project_id=1)


CLAIM_WITH_PROJECT = CompiledModels(
    Claim,
    lambda pk: Claim.objects.filter(pk=pk).select_related("project", "created_by"),
    pk=int,
)


class CompiledModelsTests(Personas, TestCase):
    """The reads of one document or claim with the caller's membership (``access``)."""

    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_personas(required_reviews=2)
        cls.claim = make_claim(document=cls.document, actor=cls.creator, start=5, end=25)

    def test_a_claim_read_matches_the_orm_with_its_related_rows_loaded(self) -> None:
        expected = Claim.objects.select_related("project", "document", "created_by").get(
            pk=self.claim.pk
        )
        claim, membership = access.claim_get_for_user(user=self.reviewer_a, pk=self.claim.pk)
        with self.assertNumQueries(0):
            self.assertEqual(
                (claim.project, claim.document, claim.created_by),
                (expected.project, expected.document, expected.created_by),
            )
            self.assertEqual(claim.created_by.username, "creator")
            self.assertEqual(claim.statement, expected.statement)
            self.assertEqual(claim.created_at, expected.created_at)
        self.assertFalse(claim._state.adding)
        self.assertEqual(membership.role, Role.REVIEWER)
        self.assertEqual(membership.user, self.reviewer_a)
        # The document's text is deferred, as the queryset says.
        self.assertNotIn("text", claim.document.__dict__)

    def test_a_locked_read_keeps_the_querysets_lock_mode(self) -> None:
        # The compiled SQL is the ORM's: select_for_update(no_key=True) (the verdict's
        # locking read of its claim) stays FOR NO KEY UPDATE (docs/design.md, "Row
        # locks"); SQLite has no row locks.
        with transaction.atomic(), CaptureQueriesContext(connection) as queries:
            access.claim_get_for_user(
                user=self.reviewer_a, pk=self.claim.pk, read=access.claim_read(lock=True)
            )
        sql = queries.captured_queries[-1]["sql"]
        if connection.features.has_select_for_update:
            self.assertTrue(sql.endswith('FOR NO KEY UPDATE OF "annotations_claim"'), sql)
        else:
            self.assertNotIn("UPDATE", sql)

    def test_a_document_read_answers_each_caller_as_the_orm(self) -> None:
        for user, role in [(self.reviewer_a, Role.REVIEWER), (self.editor, Role.EDITOR)]:
            document, membership = access.document_get_for_user(user=user, pk=self.document.pk)
            self.assertEqual(document.text, self.document.text)
            self.assertEqual(membership.role, role)
            self.assertEqual(membership.project, self.project)
            light, _ = access.document_get_for_user(user=user, pk=self.document.pk, with_text=False)
            self.assertNotIn("text", light.__dict__)
        for user, pk in [
            (self.outsider, self.document.pk),
            (self.reviewer_a, self.document.pk + 999),
        ]:
            with self.assertRaises(Http404):
                access.document_get_for_user(user=user, pk=pk)
        with self.assertRaises(PermissionDenied):
            access.document_get_for_user(
                user=self.reviewer_a, pk=self.document.pk, role=Role.EDITOR
            )

    def test_rows_of_a_statement_around_the_bound_read_make_the_same_instances(self) -> None:
        # ``bind`` hands the read to a statement of one's own (a verdict's sources and
        # their insert, ``sources_for_urls``): its rows begin with the read's ``width``
        # columns, and ``instances`` makes of them what ``objects`` makes, converted
        # (SQLite's times come as text) and with the related rows loaded.
        alias = connection.alias
        bound = CLAIM_WITH_PROJECT.bind(pk=self.claim.pk)
        sql, params = bound.as_sql(alias)
        width = bound.width(alias)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT found.*, 7 FROM ({sql}) found", params)  # noqa: S608
            rows = cursor.fetchall()
        self.assertEqual([len(row) for row in rows], [width + 1])
        (expected,) = CLAIM_WITH_PROJECT.objects(pk=self.claim.pk)
        with self.assertNumQueries(0):
            (claim,) = CLAIM_WITH_PROJECT.instances(alias, rows)
            self.assertEqual(
                (claim.pk, claim.statement, claim.created_at, claim.project, claim.created_by),
                (
                    expected.pk,
                    expected.statement,
                    expected.created_at,
                    expected.project,
                    expected.created_by,
                ),
            )
            self.assertEqual(claim.project.name, "Desk")
        self.assertIsInstance(claim.created_at, dt.datetime)
        self.assertFalse(claim._state.adding)

    def test_instances_are_made_as_from_db_makes_them(self) -> None:
        # A model whose from_db only sets attributes gets its instances made without
        # Model.__init__ (annotations.compiled._plain_init): the same attributes, the
        # same state, the related rows and annotations loaded as before.
        make_claim(document=self.document, actor=self.creator, start=30, end=40)
        alias = connection.alias
        compiled = CLAIM_WITH_PROJECT.compiled(alias)
        self.assertIs(compiled.plain_model, Claim)  # the path under test is the one taken

        def state(claim: Claim) -> dict[str, Any]:
            claim._state.fields_cache  # noqa: B018 - made on first use, by either path
            return {k: v for k, v in claim._state.__dict__.items() if k != "fields_cache"}

        def plain(claim: Claim) -> dict[str, Any]:
            return {k: v for k, v in claim.__dict__.items() if k != "_state"}

        for pk in Claim.objects.values_list("pk", flat=True):
            (made,) = CLAIM_WITH_PROJECT.objects(pk=pk)
            (orm,) = Claim.objects.filter(pk=pk).select_related("project", "created_by")
            self.assertEqual(plain(made), plain(orm))
            self.assertEqual(state(made), state(orm))
            self.assertEqual(made._state.fields_cache.keys(), {"project", "created_by"})
            self.assertEqual(made.project.__dict__.keys(), orm.project.__dict__.keys())
        self.assertIs(_READER_CLAIMS.compiled(alias).plain_model, Claim)  # with an annotation
        reader = _READER_CLAIMS.objects(
            document_id=self.document.pk, revision=self.document.revision
        )
        self.assertEqual([claim.created_by_username for claim in reader], ["creator"] * 2)

    def test_a_receiver_of_init_signals_sees_every_instance(self) -> None:
        seen: list[Any] = []

        def receiver(sender: Any, instance: Any, **kwargs: Any) -> None:
            seen.append(instance)

        post_init.connect(receiver, sender=Claim)
        try:
            found = CLAIM_WITH_PROJECT.objects(pk=self.claim.pk)
        finally:
            post_init.disconnect(receiver, sender=Claim)
        self.assertEqual(seen, found)
        self.assertEqual(len(found), 1)

    def test_a_read_of_some_columns_is_made_by_from_db(self) -> None:
        light = CompiledModels(
            Document, lambda pk: Document.objects.filter(pk=pk).defer("text"), pk=int
        )
        self.assertIsNone(light.compiled(connection.alias).plain_model)
        (document,) = light.objects(pk=self.document.pk)
        self.assertNotIn("text", document.__dict__)
        self.assertEqual(document.title, self.document.title)

    def test_the_locked_read_reads_the_window(self) -> None:
        text = Document.objects.get(pk=self.document.pk).text
        for start, end in [(0, 10), (5, 25), (3, 3), (len(text) - 4, len(text) + 50)]:
            with transaction.atomic():
                document, _ = access.document_get_for_user(
                    user=self.reviewer_a, pk=self.document.pk, locked_window=(start, end)
                )
            self.assertEqual(document.locked_window, (start, text[start:end]))


class CompiledRefusalsTests(Personas, TestCase):
    """What the compiled SQL must not answer is refused, or answered by the ORM."""

    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_personas()

    def test_an_argument_that_reaches_the_sql_changed_is_refused(self) -> None:
        shifted = CompiledValues(
            Claim,
            lambda now: Claim.objects.filter(
                created_at__lt=now, updated_at__gt=now - dt.timedelta(days=1)
            ).values("id"),
            now=dt.datetime,
        )
        with self.assertRaisesMessage(ValueError, "reached the SQL changed"):
            shifted.rows(now=T0)
        # LIKE's escaping and wildcards change the string: never compiled.
        like = CompiledValues(
            Claim, lambda s: Claim.objects.filter(statement__contains=s).values("id"), s=str
        )
        with self.assertRaisesMessage(ValueError, "s did not reach the SQL"):
            like.rows(s="20%")

    def test_a_naive_time_is_refused(self) -> None:
        with self.assertRaises(TypeError):
            CLAIMS.rows(
                project_id=self.project.pk,
                reviewer_id=self.reviewer_a.pk,
                after=dt.datetime(2026, 1, 1),
                status="in_review",
            )

    def test_ids_past_any_column_answer_as_the_orm_does(self) -> None:
        for huge in (2**31, 2**40, 2**63, 2**70):
            with self.subTest(huge=huge):
                with self.assertRaises(Http404):
                    access.document_get_for_user(user=self.reviewer_a, pk=huge)
                with self.assertRaises(Http404):
                    access.claim_get_for_user(user=self.reviewer_a, pk=huge)
                with self.assertRaises(Http404):
                    access.project_get_for_user(user=self.reviewer_a, pk=huge)
        token = api_token(self.reviewer_a)
        auth = {"HTTP_AUTHORIZATION": f"Token {token}"}
        huge = 2**63
        for path in (f"/api/v1/documents/{huge}/", f"/api/v1/claims/{huge}/"):
            self.assertEqual(self.client.get(path, **auth).status_code, 404, path)
        response = self.client.post(
            "/api/v1/claims/",
            {"document": huge, "start": 0, "end": 5, "statement": "s"},
            content_type="application/json",
            **auth,
        )
        self.assertEqual(response.status_code, 400, response.content)
        self.assertIn("document", response.json().get("errors", response.json()))
