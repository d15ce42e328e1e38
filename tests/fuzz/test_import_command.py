"""Fuzz findings through the import_documents command: a JSONL or workbench batch goes on
past a record no database can store, and JSONL lines split at line feeds only.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from annotations.core import export_mapping
from annotations.models import Document
from annotations.services import importing
from tests.factories import make_project, make_user
from tests.fuzz.test_native_import import mutated, valid_payload


def _import(tmp_path: Path, name: str, content: str, project: Any, *options: str) -> str:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    out = io.StringIO()
    call_command(
        "import_documents", str(path), "--project", project.slug, "--no-progress", *options,
        stdout=out, stderr=io.StringIO(),
    )  # fmt: skip
    return out.getvalue()


JSONL_WITH_CONTROL_CHARACTERS = (
    '{"title": "t1", "text": "bad \\ud800 one"}\n'
    '{"title": "t\\u00002", "text": "nul \\u0000two", "author": "A\\u000cB"}\n'
    '{"title": "t3", "text": "good three"}\n'
)


@pytest.mark.django_db
def test_a_jsonl_batch_goes_on_past_a_record_no_database_can_store(tmp_path: Path) -> None:
    # Regression: the escaped surrogate reached document_create and the command died
    # with UnicodeEncodeError before the good line was read. No cleaning makes a lone
    # surrogate text, so its line fails; NUL goes with cleaning, as from a text file.
    project = make_project(creator=make_user("importer"), name="Target")
    out = _import(tmp_path, "batch.jsonl", JSONL_WITH_CONTROL_CHARACTERS, project)
    assert "Imported 2, skipped 0 duplicate(s), failed 1" in out
    assert "batch.jsonl:1: 'text' is not valid Unicode text" in out
    documents = Document.objects.filter(project=project).order_by("pk")
    assert [(d.title, d.text, d.author) for d in documents] == [
        ("t2", "nul two", "A B"),
        ("t3", "good three", ""),
    ]
    assert documents[0].raw_text == "nul two"  # provenance: the record minus NUL


@pytest.mark.django_db
def test_an_uncleaned_jsonl_record_with_nul_fails_on_the_field(tmp_path: Path) -> None:
    # --no-clean stores the record as written, and no database stores NUL: the line
    # fails, naming each field, like an uncleaned text file; the batch goes on.
    project = make_project(creator=make_user("importer"), name="Target")
    out = _import(tmp_path, "batch.jsonl", JSONL_WITH_CONTROL_CHARACTERS, project, "--no-clean")
    assert "Imported 1, skipped 0 duplicate(s), failed 2" in out
    assert "batch.jsonl:1: 'text' is not valid Unicode text" in out
    assert (
        "batch.jsonl:2: title: Contains a NUL character (U+0000) at position 1.; "
        "text: Contains a NUL character (U+0000) at position 4."
    ) in out
    assert Document.objects.get(project=project).text == "good three"


@pytest.mark.django_db
def test_jsonl_lines_are_split_at_line_feeds_only(tmp_path: Path) -> None:
    """JSON strings may hold U+2028, U+2029 and U+0085 unescaped (json.dumps with
    ensure_ascii=False writes them so). Found by the fuzzers: import_documents and
    services.importing split the file with str.splitlines(), which broke such a record in
    two and shifted every later line number; they split at "\\n" only now."""
    project = make_project(creator=make_user("importer"), name="Target")
    records = [
        {"title": "t", "text": "First part\u2028second part"},
        {"title": "u", "text": "Next\u2029one\u0085here"},
        {"title": "v", "text": ""},
    ]
    content = "\r\n".join(json.dumps(record, ensure_ascii=False) for record in records) + "\n"
    out = _import(tmp_path, "batch.jsonl", content, project)
    assert "Imported 2, skipped 0 duplicate(s), failed 1" in out
    assert "batch.jsonl:3: 'text' must not be empty" in out
    texts = set(Document.objects.filter(project=project).values_list("text", flat=True))
    assert texts == {"First part\u2028second part", "Next\u2029one\u0085here"}

    preview = importing.import_preview(
        source=importing.RawSource(content=content, format="jsonl"), project=project
    )
    assert [record.line for record in preview.records] == [1, 2]
    assert [(error.line, error.reason) for error in preview.errors] == [
        (3, "'text' must not be empty")
    ]


@pytest.mark.django_db
def test_a_workbench_batch_goes_on_past_an_export_no_database_can_store(tmp_path: Path) -> None:
    # Regression: the first export's NUL reached PostgreSQL (DataError) and its lone
    # surrogate the UTF-8 encoder; the command stopped with a traceback.
    project = make_project(creator=make_user("importer"), name="Target")
    bad = mutated(
        (("document", "title"), "City\x00hall"), (("claims", 0, "statement"), "Crime \udfff")
    )
    content = export_mapping.json_dumps_safe([bad, valid_payload()])
    out = _import(tmp_path, "desk.json", content, project)
    assert "Imported 1, skipped 0 duplicate(s), failed 1" in out
    assert (
        "failed {}[0]: /claims/0/statement: is not valid Unicode text: lone surrogate U+DFFF "
        "at position 6; /document/title: contains a NUL character (U+0000) at position 4"
    ).format(tmp_path / "desk.json") in out
    assert Document.objects.get(project=project).title == "City hall"
