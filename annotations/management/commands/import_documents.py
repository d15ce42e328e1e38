"""Import documents into a project from plain-text or HTML files, URLs or JSONL batches.

    python manage.py import_documents --project demo article.txt
    python manage.py import_documents --project demo page.html https://example.org/story
    python manage.py import_documents --project demo --format jsonl batch.jsonl
    python manage.py import_documents --project demo --format workbench export.json
    python manage.py import_documents --project desk --format workbench --create-project \
        --user ops desk.json

HTML (.html/.htm files, or --format html) goes through ``htmlpage.extract_html``: the
main text with its paragraphs, title, author, publisher, date and canonical URL from the
page's metadata. An argument starting with http:// or https:// is fetched through the
safe fetcher (``annotations.core.fetching``: public addresses only unless
WORKBENCH_FETCH_ALLOWED_HOSTS names the host, with the WORKBENCH_FETCH_* limits); a
refusal is a failure of that argument, with the fetcher's reason.

A lossless project export ("schema": "workbench-export/2", ``export_project --format
json``) is restored whole, with every id and the audit chain as it was, into an EMPTY
database only (``services.project_restore_native``; a database holding any workbench data
is refused, and so is a file whose audit chain does not verify): one file, --project
naming the exported project's slug; --user and --create-project are not needed. The
restore records no audit event (the restored chain stays the exported one): this
command's output is its record.

A workbench file is a native export ("schema": "workbench-export/1": the document with
its claims, verdicts, citations, sources and consensus history) or a JSON list of them;
.json files holding one are recognised without --format. With --create-project (and
--format workbench) a project that does not exist yet is created from the first export's
project block (name, organization, review policy; the slug is --project's) with --user
as its creator and first admin: the way to restore a project export into an empty
database.

Each document is its own transaction: one bad line or a duplicate never stops the
batch. A summary says how many were imported, skipped as duplicates (same canonical
text already in the project) or failed, with the reason for each failure.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from annotations import services
from annotations.core import export_mapping, fetching, jsonl, safejson, spans
from annotations.models import Project
from annotations.services import importing

URL_PREFIXES = ("http://", "https://")


@dataclass
class Summary:
    imported: int = 0
    duplicates: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)
    removed: int = 0


@dataclass(frozen=True)
class NativeItem:
    """One native export to import with ``services.document_import_native``."""

    payload: dict[str, Any]


@dataclass(frozen=True)
class UrlItem:
    """A URL to fetch when its turn comes, so the progress bar moves with the fetches."""

    url: str


class Command(BaseCommand):
    help = (
        "Import plain-text files (cleaned of scraped junk), HTML files or URLs (main content "
        "and metadata extracted) or JSONL batches into a project."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "paths",
            nargs="+",
            help="Files or http(s) URLs to import ('-' is not supported).",
        )
        parser.add_argument("--project", required=True, help="Project slug.")
        parser.add_argument(
            "--format",
            choices=["text", "html", "jsonl", "workbench"],
            default=None,
            help="Input format of files; by default .jsonl files are JSONL, .html/.htm files "
            "HTML, .json files holding a workbench export (schema workbench-export/1, or the "
            "lossless workbench-export/2, restored into an empty database) are "
            "workbench, anything else text. URLs are read as their content type says.",
        )
        parser.add_argument(
            "--no-clean",
            action="store_true",
            help="Keep text as it is (no removal of CSS, ad scripts, feed footers); HTML "
            "still goes through main-content extraction.",
        )
        parser.add_argument(
            "--user", default=None, help="User recorded as the importer (default: none)."
        )
        parser.add_argument(
            "--create-project",
            action="store_true",
            help="With --format workbench: if no project has the --project slug, create it "
            "from the first export's project block (name, organization, organization URL, "
            "required reviews, consensus rule, majority threshold, lease minutes and the "
            "export's rating scale: keys, labels, ordinals, order) with --user, required "
            "then, as its creator and admin; the project.create event is recorded. An "
            "existing project is used as it is. For restoring a project export into an "
            "empty database.",
        )
        parser.add_argument("--no-progress", action="store_true", help="Hide the progress bar.")

    def handle(self, *args: Any, **options: Any) -> None:
        lossless = _lossless_payload(options["paths"], options["format"])
        if lossless is not None:
            self._restore(options["project"], *lossless)
            return
        if options["create_project"]:
            if options["format"] != "workbench":
                raise CommandError("--create-project works with --format workbench only.")
            if not options["user"]:
                raise CommandError(
                    "--create-project needs --user: the new project's creator and first admin."
                )
        actor = None
        if options["user"]:
            actor = get_user_model().objects.filter(username=options["user"]).first()
            if actor is None:
                raise CommandError(f"No user {options['user']!r}.")
        project = Project.objects.filter(slug=options["project"]).first()
        if project is None:
            if not options["create_project"] or actor is None:
                raise CommandError(
                    f"No project with slug {options['project']!r}. Create it first, or "
                    "restore a workbench export with --create-project."
                )
            project = self._create_project(options["project"], options["paths"], creator=actor)
        # A generator: a 10,000-line batch is read, cleaned and stored one document at a
        # time, so memory stays that of one document (the bar counts without a total).
        items = self._items(options["paths"], options["format"], clean=not options["no_clean"])
        summary = Summary()
        progress = tqdm(
            items,
            desc="Importing",
            unit="doc",
            disable=options["no_progress"],
            file=self.stderr._out,
        )
        for label, item in progress:
            if isinstance(item, UrlItem):
                item = _from_url(item.url, clean=not options["no_clean"])
            if isinstance(item, str):
                summary.failures.append((label, item))
                continue
            try:
                if isinstance(item, NativeItem):
                    removed = 0
                    services.document_import_native(
                        project=project, payload=item.payload, actor=actor
                    )
                else:
                    data, removed = item
                    services.document_create(project=project, data=data, actor=actor)
            except ValidationError as exc:
                if exc.error_dict.get("text") and exc.error_dict["text"][0].code == "duplicate":
                    summary.duplicates += 1
                else:
                    summary.failures.append((label, _flatten(exc)))
                continue
            summary.imported += 1
            summary.removed += removed
        self._report(summary)

    def _restore(self, slug: str, label: str, payload: dict[str, Any]) -> None:
        """Restore a lossless project export (``workbench-export/2``) into an empty database."""
        if payload.get("project", {}).get("slug") != slug:
            raise CommandError(
                f"{label} is the lossless export of project "
                f"{payload.get('project', {}).get('slug')!r}, not {slug!r}: a restore keeps "
                "the project as it was, slug included."
            )
        try:
            project = services.project_restore_native(payload=payload)
        except ValidationError as exc:
            raise CommandError(f"{label}: not restored: {_flatten(exc)}") from None
        head = payload["audit"]["head"]
        counts = ", ".join(
            f"{len(payload[name])} {name.replace('_', ' ')}"
            for name in ("documents", "claims", "verdicts", "consensus", "users")
        )
        self.stdout.write(
            f"Restored project {project.slug!r} (id {project.pk}) from {label}: {counts}; "
            f"audit chain of {len(payload['audit']['events'])} events verified, head seq "
            f"{head['seq']} hash {head['hash']}. No event records the restore (the chain is "
            "the exported one): keep this output. Restored accounts have no password: set "
            "one with manage.py changepassword USERNAME."
        )

    def _create_project(self, slug: str, args: list[str], *, creator: AbstractBaseUser) -> Project:
        """The project ``slug``, created from the first workbench export among ``args``,
        with that export's rating scale (labels, ordinals, positions; defaults it lacks
        stay out), so ratings and ClaimReview values come back as they were exported."""
        label, block = _first_project_block(args)
        problems = export_mapping.native_errors(block, definition="project")
        if problems:
            reasons = "; ".join(f"{pointer}: {reason}" for pointer, reason in problems)
            raise CommandError(f"{label}: the project block is not valid: {reasons}")
        policy = block["policy"]
        try:
            project = services.project_create(
                creator=creator,
                name=block["name"],
                slug=slug,
                organization=block["organization"],
                organization_url=block["organization_url"],
                required_reviews=policy["required_reviews"],
                consensus_rule=policy["consensus_rule"],
                majority_threshold=policy["majority_threshold"],
                lease_minutes=policy["lease_minutes"],
                scale=block["scale"],
            )
        except ValidationError as exc:
            raise CommandError(f"Cannot create project {slug!r}: {_flatten(exc)}") from None
        self.stdout.write(
            f"Created project {slug!r} ({project.name}) from {label}; "
            f"{creator.get_username()} is its admin."
        )
        return project

    def _items(self, args: list[str], fmt: str | None, *, clean: bool) -> Iterator[tuple[str, Any]]:
        for arg in args:
            if arg.lower().startswith(URL_PREFIXES):
                yield arg, UrlItem(arg)
                continue
            path = Path(arg)
            if not path.is_file():
                yield str(path), "not a file"
                continue
            kind = fmt or importing.FORMATS_BY_SUFFIX.get(path.suffix.lower(), "text")
            if kind == "jsonl":
                yield from _from_jsonl(path, clean=clean)
                continue
            try:
                content = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                yield str(path), f"cannot read as UTF-8 text: {exc}"
                continue
            if kind == "text" and fmt is None and path.suffix.lower() == ".json":
                kind = "workbench" if _is_native(content) else "text"
            if kind == "workbench":
                yield from _from_native(content, path)
                continue
            source = importing.RawSource(content=content, format=kind, name=path.name)
            yield str(path), _from_source(source, clean=clean)

    def _report(self, summary: Summary) -> None:
        self.stdout.write(
            f"Imported {summary.imported}, skipped {summary.duplicates} duplicate(s), "
            f"failed {len(summary.failures)}; removed {summary.removed} junk block(s) while cleaning."
        )
        for label, reason in summary.failures:
            self.stdout.write(f"  failed {label}: {reason}")


def _from_jsonl(path: Path, *, clean: bool) -> Iterator[tuple[str, Any]]:
    """One item per line, read as the import goes: memory stays flat whatever the file's
    size. Lines end at ``\n`` only (as ``jsonl.jsonl_lines``): a JSON string may hold
    U+2028 and friends unescaped. Each line is decoded on its own, so a line that is not
    UTF-8 fails alone, with its number, like any other bad line."""
    undecodable: list[tuple[int, str]] = []

    def lines(handle: Any) -> Iterator[str]:
        for number, raw in enumerate(handle, start=1):
            try:
                yield jsonl.jsonl_line(raw.decode("utf-8"))
            except UnicodeDecodeError as exc:
                undecodable.append((number, spans.undecodable_problem(exc)))
                yield ""  # blank: parse_jsonl skips it and keeps counting lines

    def failures() -> Iterator[tuple[str, str]]:
        while undecodable:
            number, reason = undecodable.pop(0)
            yield f"{path}:{number}", reason

    try:
        with path.open("rb") as handle:
            for record in jsonl.parse_jsonl(lines(handle)):
                yield from failures()
                label = f"{path}:{record.line}"
                if isinstance(record, jsonl.RecordError):
                    yield label, record.reason
                    continue
                yield label, importing.record_input(record, clean=clean)
    except OSError as exc:
        yield str(path), f"cannot read the file: {exc}"
    yield from failures()


def _lossless_payload(paths: list[str], fmt: str | None) -> tuple[str, dict[str, Any]] | None:
    """``(label, payload)`` when the arguments are one lossless export (a .json file, or
    --format workbench, whose "schema" is workbench-export/2); None otherwise. Several
    arguments with a lossless export among them are refused: a restore is one project."""
    found = None
    for arg in paths:
        path = Path(arg)
        if arg.lower().startswith(URL_PREFIXES) or not path.is_file():
            continue
        if fmt not in (None, "workbench") or (fmt is None and path.suffix.lower() != ".json"):
            continue
        try:
            data = safejson.loads(path.read_text(encoding="utf-8"), allow_constants=True)
        except (OSError, UnicodeDecodeError, ValueError):
            continue
        if isinstance(data, dict) and data.get("schema") == export_mapping.NATIVE_SCHEMA_2:
            found = (str(path), data)
            break
    if found is not None and len(paths) > 1:
        raise CommandError(
            f"{found[0]} is a lossless project export: restore it alone, into an empty database."
        )
    return found


def _is_native(content: str) -> bool:
    try:
        data = safejson.loads(content, allow_constants=True)
    except safejson.JsonTooDeep:
        return True  # JSON, but nested too deep to be read: _from_native says so
    except ValueError:
        return False
    first = data[0] if isinstance(data, list) and data else data
    return isinstance(first, dict) and first.get("schema") == export_mapping.NATIVE_SCHEMA


def _first_project_block(args: list[str]) -> tuple[str, dict[str, Any]]:
    """``(label, project block)`` of the first workbench export among ``args`` (files)."""
    for arg in args:
        path = Path(arg)
        if arg.lower().startswith(URL_PREFIXES) or not path.is_file():
            continue
        try:
            content = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        for label, item in _from_native(content, path):
            if isinstance(item, NativeItem) and isinstance(item.payload.get("project"), dict):
                return label, item.payload["project"]
    raise CommandError(
        "--create-project: no workbench export with a project block in "
        + ", ".join(args)
        + "; the project to create is described there."
    )


def _from_native(content: str, path: Path) -> Iterator[tuple[str, NativeItem | str]]:
    try:
        # Nesting bounded: a deep file is this file's failure, not a RecursionError that
        # stops the batch. NaN and Infinity are read so native_errors can name them.
        data = safejson.loads(content, allow_constants=True)
    except ValueError as exc:
        yield str(path), f"not JSON: {exc}"
        return
    payloads = data if isinstance(data, list) else [data]
    for index, payload in enumerate(payloads):
        label = str(path) if not isinstance(data, list) else f"{path}[{index}]"
        if not isinstance(payload, dict) or payload.get("schema") != export_mapping.NATIVE_SCHEMA:
            yield label, f'not a workbench export ("schema": "{export_mapping.NATIVE_SCHEMA}")'
            continue
        yield label, NativeItem(payload)


def _from_source(
    source: importing.RawSource, *, clean: bool
) -> tuple[services.DocumentInput, int] | str:
    preview = importing.import_preview(source=source, clean=clean)
    if not preview.text.strip():
        return "no text found" if source.format == "html" else "nothing left after cleaning"
    removed = sum(1 for part in preview.removed if part.kind != "title")
    return importing.document_input(preview), removed


def _from_url(url: str, *, clean: bool) -> tuple[services.DocumentInput, int] | str:
    try:
        source = importing.source_from_url(url)
    except fetching.FetchError as exc:
        return f"fetch refused ({exc.code}): {exc.message}"
    return _from_source(source, clean=clean)


def _flatten(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return "; ".join(
            f"{name}: {' '.join(messages)}" for name, messages in exc.message_dict.items()
        )
    return " ".join(exc.messages)
