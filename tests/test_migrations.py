"""Data migrations, run forwards (and back) on rows written in the schema before them;
and 0007, which drops DRF's clear-text token table; and 0025, the document text's storage."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.recorder import MigrationRecorder
from django.test import TransactionTestCase
from django.utils import timezone

BEFORE = [("annotations", "0003_claim_export_index")]
AFTER = [("annotations", "0006_source_project_required")]
TYPED = "https://Example.org/memo?utm_source=r1secret&id=7#:~:text=R1%20quote"
NORMALIZED = "https://example.org/memo?id=7"


class SourcesPerProjectAndCiterMigrationTests(TransactionTestCase):
    """0004-0006: one global source row per normalized URL becomes one row per project and
    citer, without losing a citation, and nobody gets another citer's typed URL or title."""

    def migrate(self, targets: list[tuple[str, str]]) -> Any:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(targets)
        return executor.loader.project_state(targets).apps

    def tearDown(self) -> None:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())

    def make_old_rows(self, apps: Any) -> dict[str, Any]:
        user_model = apps.get_model("auth", "User")
        Project = apps.get_model("annotations", "Project")
        Membership = apps.get_model("annotations", "Membership")
        Rating = apps.get_model("annotations", "Rating")
        Document = apps.get_model("annotations", "Document")
        Claim = apps.get_model("annotations", "Claim")
        Verdict = apps.get_model("annotations", "Verdict")
        Source = apps.get_model("annotations", "Source")
        Citation = apps.get_model("annotations", "Citation")
        users = {
            name: user_model.objects.create(username=name)
            for name in ("r1", "r2", "r3", "boss", "loner")
        }
        rows: dict[str, Any] = {"users": users}
        for key, name, members in (
            ("p1", "Desk one", ("boss", "r1", "r2")),
            ("p2", "Desk two", ("r3",)),
        ):
            project = Project.objects.create(name=name, slug=name.lower().replace(" ", "-"))
            for member in members:
                Membership.objects.create(project=project, user=users[member], role="reviewer")
            rating = Rating.objects.create(project=project, key="false", label="False")
            document = Document.objects.create(
                project=project, title=name, text="Some text.", text_sha256=key, length=10
            )
            claims = [
                Claim.objects.create(
                    project=project,
                    document=document,
                    start=0,
                    end=4,
                    exact="Some",
                    statement=f"{name} claim {index}",
                    created_by=users["boss"],
                )
                for index in range(2)
            ]
            rows[key] = (project, rating, claims)
        shared = Source.objects.create(
            url=TYPED, normalized_url=NORMALIZED, title="R1 notes", created_by=users["r1"]
        )
        by_boss = Source.objects.create(
            url="https://boss.example.org/x",
            normalized_url="https://boss.example.org/x",
            title="Boss notes",
            created_by=users["boss"],
        )
        uncited = Source.objects.create(
            url="https://r1.example.org/later",
            normalized_url="https://r1.example.org/later",
            created_by=users["r1"],
        )
        Source.objects.create(
            url="https://loner.example.org/",
            normalized_url="https://loner.example.org/",
            created_by=users["loner"],
        )

        def cite(project_key: str, claim_index: int, reviewer: str, source: Any) -> None:
            _, rating, claims = rows[project_key]
            verdict = Verdict.objects.create(
                claim=claims[claim_index],
                reviewer=users[reviewer],
                rating=rating,
                confidence="high",
            )
            Citation.objects.create(verdict=verdict, source=source, stance="refutes")

        cite("p1", 0, "r1", shared)
        cite("p1", 1, "r1", shared)
        cite("p1", 0, "r2", shared)
        cite("p2", 0, "r3", shared)
        cite("p1", 1, "r2", by_boss)
        rows.update(shared=shared, by_boss=by_boss, uncited=uncited)
        return rows

    def test_it_splits_sources_by_project_and_citer_keeping_every_citation(self) -> None:
        rows = self.make_old_rows(self.migrate(BEFORE))
        apps = self.migrate(AFTER)
        Source = apps.get_model("annotations", "Source")
        Citation = apps.get_model("annotations", "Citation")
        users, (p1, _, _), (p2, _, _) = rows["users"], rows["p1"], rows["p2"]
        self.assertEqual(Citation.objects.count(), 5)

        def cited_source(reviewer: str, normalized: str) -> Any:
            sources = {
                c.source_id
                for c in Citation.objects.filter(
                    verdict__reviewer_id=users[reviewer].pk, source__normalized_url=normalized
                )
            }
            self.assertEqual(len(sources), 1, (reviewer, normalized))
            return Source.objects.get(pk=sources.pop())

        # The creator keeps their row, with what they typed, in the project they cited it in.
        kept = cited_source("r1", NORMALIZED)
        self.assertEqual(kept.pk, rows["shared"].pk)
        self.assertEqual(
            (kept.project_id, kept.created_by_id, kept.url, kept.title),
            (p1.pk, users["r1"].pk, TYPED, "R1 notes"),
        )
        # Every other citer gets a row of their own with the normalized URL only.
        for reviewer, project in (("r2", p1), ("r3", p2)):
            with self.subTest(reviewer=reviewer):
                row = cited_source(reviewer, NORMALIZED)
                self.assertNotEqual(row.pk, kept.pk)
                self.assertEqual(
                    (row.project_id, row.created_by_id, row.url, row.title),
                    (project.pk, users[reviewer].pk, NORMALIZED, ""),
                )
        # A source its creator never cited: the citer gets their own row; the creator keeps
        # theirs, uncited, in their first project.
        boss_row = Source.objects.get(pk=rows["by_boss"].pk)
        self.assertEqual((boss_row.project_id, boss_row.created_by_id), (p1.pk, users["boss"].pk))
        r2_row = cited_source("r2", "https://boss.example.org/x")
        self.assertEqual((r2_row.created_by_id, r2_row.title), (users["r2"].pk, ""))
        # Uncited: kept with its creator in their first project, or dropped when they have none.
        self.assertEqual(Source.objects.get(pk=rows["uncited"].pk).project_id, p1.pk)
        self.assertFalse(Source.objects.filter(normalized_url="https://loner.example.org/"))

    def test_the_reverse_merges_them_back_without_losing_a_citation(self) -> None:
        rows = self.make_old_rows(self.migrate(BEFORE))
        self.migrate(AFTER)
        apps = self.migrate(BEFORE)
        Source = apps.get_model("annotations", "Source")
        Citation = apps.get_model("annotations", "Citation")
        self.assertEqual(Citation.objects.count(), 5)
        self.assertEqual(Source.objects.filter(normalized_url=NORMALIZED).count(), 1)
        self.assertEqual(
            set(
                Citation.objects.filter(source__normalized_url=NORMALIZED).values_list(
                    "source_id", flat=True
                )
            ),
            {rows["shared"].pk},
        )


class DropPlainTokensMigrationTests(TransactionTestCase):
    """0007: DRF's clear-text ``authtoken_token`` table (keys and all) does not survive the
    upgrade, and its migrations are forgotten; a database that never had it migrates too."""

    BEFORE = [("annotations", "0006_source_project_required")]
    AFTER = [("annotations", "0007_drop_plain_tokens")]
    KEY = "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b"

    def migrate(self, targets: list[tuple[str, str]]) -> None:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(targets)

    def tearDown(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS authtoken_token")
        MigrationRecorder(connection).migration_qs.filter(app="authtoken").delete()
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())

    def tables(self) -> list[str]:
        return connection.introspection.table_names()

    def test_it_drops_the_clear_text_keys(self) -> None:
        self.migrate(self.BEFORE)
        user_model = get_user_model()
        user = user_model.objects.create(username="scripted")
        with connection.cursor() as cursor:
            cursor.execute(
                "CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, "
                "created timestamp NOT NULL, user_id integer NOT NULL UNIQUE)"
            )
            cursor.execute(
                "INSERT INTO authtoken_token (key, created, user_id) VALUES (%s, %s, %s)",
                [self.KEY, timezone.now(), user.pk],
            )
        recorder = MigrationRecorder(connection)
        for name in ("0001_initial", "0002_auto_20160226_1747", "0003_tokenproxy"):
            recorder.record_applied("authtoken", name)
        self.assertIn("authtoken_token", self.tables())

        self.migrate(self.AFTER)
        self.assertNotIn("authtoken_token", self.tables())
        self.assertFalse(recorder.migration_qs.filter(app="authtoken").exists())
        self.assertTrue(user_model.objects.filter(username="scripted").exists())

    def test_without_the_table_it_is_a_no_op_both_ways(self) -> None:
        self.migrate(self.BEFORE)
        self.assertNotIn("authtoken_token", self.tables())
        self.migrate(self.AFTER)
        self.migrate(self.BEFORE)
        self.assertNotIn("authtoken_token", self.tables())


class ClaimLifecycleMigrationTests(TransactionTestCase):
    """0009: each claim points at its current consensus; rows the lifecycle's constraints
    would refuse are repaired, with an event each (issue 14)."""

    migrate = SourcesPerProjectAndCiterMigrationTests.migrate
    tearDown = SourcesPerProjectAndCiterMigrationTests.tearDown

    def test_it_backfills_the_consensus_pointer_and_repairs_impossible_states(self) -> None:
        apps = self.migrate([("annotations", "0006_source_project_required")])
        user = apps.get_model("auth", "User").objects.create(username="boss")
        project = apps.get_model("annotations", "Project").objects.create(name="D", slug="d")
        rating = apps.get_model("annotations", "Rating").objects.create(
            project=project, key="true", label="True"
        )
        document = apps.get_model("annotations", "Document").objects.create(
            project=project, title="D", text="Some text.", text_sha256="x", length=10
        )
        Claim = apps.get_model("annotations", "Claim")
        Consensus = apps.get_model("annotations", "Consensus")
        claims = {
            status: Claim.objects.create(
                project=project,
                document=document,
                start=0,
                end=4,
                exact="Some",
                statement=status,
                status=status.split("-")[0],
                created_by=user,
            )
            for status in ("resolved", "published-bare", "disputed-stale", "in_review")
        }
        records = {
            key: Consensus.objects.create(
                claim=claims[key], sequence=1, rating=rating, method="unanimous", is_current=True
            )
            for key in ("resolved", "disputed-stale")
        }
        apps = self.migrate([("annotations", "0009_claim_lifecycle")])
        Claim = apps.get_model("annotations", "Claim")
        Consensus = apps.get_model("annotations", "Consensus")
        Event = apps.get_model("annotations", "Event")
        after = {key: Claim.objects.get(pk=claim.pk) for key, claim in claims.items()}
        self.assertEqual(
            (after["resolved"].status, after["resolved"].consensus_id),
            ("resolved", records["resolved"].pk),
        )
        # Published without a consensus: disputed, for an editor to decide again.
        self.assertEqual(
            (after["published-bare"].status, after["published-bare"].consensus_id),
            ("disputed", None),
        )
        # A current record on a disputed claim stops being current (kept in the history).
        self.assertFalse(Consensus.objects.get(pk=records["disputed-stale"].pk).is_current)
        self.assertEqual(after["disputed-stale"].consensus_id, None)
        self.assertEqual(
            sorted(Event.objects.values_list("verb", "object_id")),
            sorted(
                [
                    ("claim.status", claims["published-bare"].pk),
                    ("consensus.supersede", records["disputed-stale"].pk),
                ]
            ),
        )


class EventHashChainMigrationTests(TransactionTestCase):
    """0010: existing events are chained per project (and a global chain for events with
    no project) in id order, hashing the values as stored, so an old database verifies."""

    BEFORE_CHAIN = [("annotations", "0006_source_project_required")]
    AFTER_CHAIN = [("annotations", "0010_event_hash_chain")]

    migrate = SourcesPerProjectAndCiterMigrationTests.migrate
    tearDown = SourcesPerProjectAndCiterMigrationTests.tearDown

    def test_it_chains_existing_events_so_they_verify(self) -> None:
        from annotations import selectors
        from annotations.core import auditchain

        apps = self.migrate(self.BEFORE_CHAIN)
        user = apps.get_model("auth", "User").objects.create(username="old")
        Project = apps.get_model("annotations", "Project")
        Event = apps.get_model("annotations", "Event")
        one = Project.objects.create(name="One", slug="one")
        two = Project.objects.create(name="Two", slug="two")
        written = []
        for number, project in enumerate([one, two, None, one, one, two, None]):
            written.append(
                Event.objects.create(
                    actor=user if number % 2 else None,
                    project=project,
                    verb="old.event",
                    object_type="claim",
                    object_id=number,
                    before=None if number % 3 else {"n": number, "share": 2 / 3},
                    after={"text": "é 🌉", "list": [1, 2.0, None], "n": number},
                ).pk
            )
        apps = self.migrate(self.AFTER_CHAIN)
        Event = apps.get_model("annotations", "Event")
        seqs = dict(Event.objects.values_list("pk", "seq"))
        self.assertEqual([seqs[pk] for pk in written], [1, 1, 1, 2, 3, 2, 2])
        heads = dict(apps.get_model("annotations", "AuditHead").objects.values_list("chain", "seq"))
        self.assertEqual(heads, {one.pk: 3, two.pk: 2, 0: 2})
        # Checked with the live code: the migration's frozen copy hashes as it does.
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
        for chain in (one.pk, two.pk, None):
            report = selectors.audit_verify(project_id=chain)
            self.assertTrue(report.ok, report.problem)
        first = Event.objects.get(pk=written[0])
        self.assertEqual(first.prev_hash, auditchain.GENESIS)


@pytest.mark.postgres("TOAST storage of the document text")
class DocumentTextStorageMigrationTests(TransactionTestCase):
    """0025: the document text is stored out of line uncompressed (``STORAGE EXTERNAL``)
    so that ``substr`` reads a window without decompressing the text up to it; compressed
    texts of long documents are rewritten, short ones left as they are."""

    BEFORE_STORAGE = [("annotations", "0024_live_event_notify")]
    AFTER_STORAGE = [("annotations", "0025_document_text_storage")]

    migrate = SourcesPerProjectAndCiterMigrationTests.migrate
    tearDown = SourcesPerProjectAndCiterMigrationTests.tearDown

    @staticmethod
    def storage(column: str) -> str:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT attstorage FROM pg_attribute "
                "WHERE attrelid = 'annotations_document'::regclass AND attname = %s",
                [column],
            )
            return cursor.fetchone()[0]

    @staticmethod
    def compression(pk: int) -> str | None:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_column_compression(text) FROM annotations_document WHERE id = %s", [pk]
            )
            return cursor.fetchone()[0]

    def test_the_text_is_external_and_long_compressed_texts_are_rewritten(self) -> None:
        self.assertEqual(self.storage("text"), "e")  # the current schema
        apps = self.migrate(self.BEFORE_STORAGE)
        self.assertEqual(self.storage("text"), "x")  # reverted: the default, extended
        Project = apps.get_model("annotations", "Project")
        Document = apps.get_model("annotations", "Document")
        project = Project.objects.create(name="Old", slug="old")
        sentence = "The council approved the budget for the new stadium roof. "
        texts = {"long": sentence * 2_000, "short": sentence * 100}  # 116,000 / 5,800
        ids = {
            name: Document.objects.create(
                project=project, title=name, text=text, text_sha256=name, length=len(text)
            ).pk
            for name, text in texts.items()
        }
        self.assertEqual(self.compression(ids["long"]), "pglz")
        self.assertEqual(self.compression(ids["short"]), "pglz")
        apps = self.migrate(self.AFTER_STORAGE)
        self.assertEqual(self.storage("text"), "e")
        self.assertIsNone(self.compression(ids["long"]))  # out of line, uncompressed
        self.assertEqual(self.compression(ids["short"]), "pglz")  # left as it was
        Document = apps.get_model("annotations", "Document")
        stored = dict(Document.objects.values_list("title", "text"))
        self.assertEqual(stored, texts)
