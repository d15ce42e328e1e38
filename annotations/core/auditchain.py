"""The audit trail's hash chain: canonical form of an event, its hash, and verification.

Pure Python (no Django), so the same code checks the database (``manage.py
verify_audit``) and a downloaded ``audit.jsonl`` file without one (``verify_audit
--file``).

Every project has one chain (events without a project form one more, the global
chain). Its events are numbered ``seq`` = 1, 2, 3, … and each carries

* ``prev_hash``: the ``hash`` of the event before it in the chain (``GENESIS`` for seq 1);
* ``hash``: SHA-256 (hex) of the event's canonical content, which includes ``prev_hash``.

The canonical content is one JSON object, UTF-8 encoded, keys sorted, no spaces, every
non-ASCII character escaped (``\\uXXXX``), floats with an integral value written as
integers (so a value reads back the same from any JSON store)::

    {"actor": 3, "after": {...}, "before": null, "created_at": "2026-12-03T14:07:43.123456Z",
     "object_id": 17, "object_type": "claim", "prev_hash": "…", "project": 1, "seq": 5,
     "v": 1, "verb": "claim.create"}

``created_at`` is UTC with exactly six fraction digits and a ``Z``. Editing any hashed
field of an event changes its hash; removing, inserting or moving an event breaks the
``seq`` numbering or the ``prev_hash`` link of the event after it. ``verify`` walks a
chain once, in constant memory, and names the first event where that happens.

What it cannot show on its own: someone who can write the whole table may rewrite every
event from the tampered one to the end with fresh hashes. Such a rewrite is caught only
against a head hash kept elsewhere (an earlier download): ``verify(..., anchors=…)``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

__all__ = [
    "GENESIS",
    "VERSION",
    "Entry",
    "Problem",
    "Report",
    "Template",
    "canonical",
    "canonical_template",
    "entry_from_json",
    "entry_hash",
    "entry_to_json",
    "normal",
    "seal",
    "timestamp",
    "verify",
    "verify_lines",
]

VERSION = 1
GENESIS = "0" * 64
_HEX = frozenset("0123456789abcdef")


def timestamp(value: dt.datetime) -> str:
    """``value`` (timezone-aware) as the chain writes it: UTC, microseconds, ``Z``."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("The audit chain needs timezone-aware times.")
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _key(key: object) -> str:
    if isinstance(key, str):
        return key
    # What json.dumps makes of a non-string key (and so what a JSON column stores).
    return json.dumps(key) if isinstance(key, bool | int | float) or key is None else str(key)


def _normal(value: object) -> Any:
    """``value`` as any JSON store gives it back: tuples as lists, string keys, floats
    with an integral value as integers."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("The audit chain holds finite numbers only.")
        return int(value) if value.is_integer() else value
    if isinstance(value, Mapping):
        return {_key(key): _normal(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_normal(item) for item in value]
    raise TypeError(f"Not JSON: {type(value).__name__}")


@dataclass(frozen=True)
class Entry:
    """One event of a chain, as stored. ``id`` (the row's database id) is not hashed: it
    only names the event in messages."""

    project: int | None
    seq: int
    actor: int | None
    verb: str
    object_type: str
    object_id: int | None
    before: Any
    after: Any
    created_at: str
    prev_hash: str
    hash: str
    id: int | None = None

    def label(self) -> str:
        where = f"project {self.project}" if self.project is not None else "global chain"
        name = f"event {self.id} " if self.id is not None else "event "
        return f"{name}(seq {self.seq}, {where}, {self.verb} {self.object_type}:{self.object_id})"


def _dumps(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def _content(
    *,
    project: int | None,
    seq: int,
    actor: int | None,
    verb: str,
    object_type: str,
    object_id: int | None,
    before: object,
    after: object,
    created_at: str,
    prev_hash: str,
) -> dict[str, Any]:
    return {
        "v": VERSION,
        "project": project,
        "seq": seq,
        "actor": actor,
        "verb": verb,
        "object_type": object_type,
        "object_id": object_id,
        "before": _normal(before),
        "after": _normal(after),
        "created_at": created_at,
        "prev_hash": prev_hash,
    }


def canonical(
    *,
    project: int | None,
    seq: int,
    actor: int | None,
    verb: str,
    object_type: str,
    object_id: int | None,
    before: object,
    after: object,
    created_at: str,
    prev_hash: str,
) -> bytes:
    """The bytes an event's hash is taken over (see the module's docstring)."""
    content = _content(
        project=project,
        seq=seq,
        actor=actor,
        verb=verb,
        object_type=object_type,
        object_id=object_id,
        before=before,
        after=after,
        created_at=created_at,
        prev_hash=prev_hash,
    )
    return _dumps(content).encode("ascii")


@dataclass(frozen=True)
class Template:
    """An event's canonical content without the two values its place in the chain gives
    it: the content is ``prefix``, ``prev_hash``, ``middle``, ``seq`` in decimal, ``suffix``.

    It lets the database seal an event against its own head row in the statement that
    appends it (on PostgreSQL: ``sha256`` of the parts joined around the head's hash and
    seq + 1), so the writer never reads the head first. The parts are ASCII, as the
    canonical content is, so text or bytes give the same hash."""

    prefix: str
    middle: str
    suffix: str

    def fill(self, *, seq: int, prev_hash: str) -> bytes:
        """The canonical content at ``seq`` after ``prev_hash``: ``canonical(...)``."""
        if not set(prev_hash) <= _HEX or seq < 1:
            # A hash is lowercase hex, which JSON writes as is; anything else needs escaping.
            raise ValueError("prev_hash must be a lowercase hex hash and seq at least 1")
        return f"{self.prefix}{prev_hash}{self.middle}{seq}{self.suffix}".encode("ascii")


def canonical_template(
    *,
    project: int | None,
    actor: int | None,
    verb: str,
    object_type: str,
    object_id: int | None,
    before: object,
    after: object,
    created_at: str,
) -> Template:
    """The ``Template`` of an event whose ``seq`` and ``prev_hash`` are not known yet.

    JSON with sorted keys is ``{`` + ``"key":value`` pairs in key order, joined by commas,
    + ``}``, each value written as ``canonical`` writes it; the pairs of ``prev_hash`` (a
    string: its value goes between the quotes) and ``seq`` (an integer) are cut around
    their values. "prev_hash" sorts before "seq", so the cuts come in that order."""
    content = _content(
        project=project,
        seq=0,
        actor=actor,
        verb=verb,
        object_type=object_type,
        object_id=object_id,
        before=before,
        after=after,
        created_at=created_at,
        prev_hash="",
    )
    cuts: list[str] = []
    text = "{"
    for index, key in enumerate(sorted(content)):
        text += ("," if index else "") + _dumps(key) + ":"
        if key == "prev_hash":
            cuts.append(text + '"')
            text = '"'
        elif key == "seq":
            cuts.append(text)
            text = ""
        else:
            text += _dumps(content[key])
    prefix, middle = cuts
    return Template(prefix=prefix, middle=middle, suffix=text + "}")


# An object id no event carries (2**53 + 1): a ``Template`` made with it as the event's
# object id can be cut around the id's digits (``object_cut``), for a statement that inserts
# the row an event names and seals the event with that row's new id.
OBJECT_ID_SLOT = 2**53 + 1


def object_cut(template: Template) -> tuple[str, str]:
    """The ``prefix`` of ``template`` (made with ``object_id=OBJECT_ID_SLOT``) cut around
    the id's digits: the content is the first part, the object id in decimal, the second
    part, then ``prev_hash``, ``middle``, ``seq`` and ``suffix`` as for any template.

    The top-level ``object_id`` key comes after ``after``, ``before`` and ``created_at`` in
    key order, so its pair is the last one in the prefix that names it, followed by the
    ``object_type`` key; a nested key or a string that spells the same text comes before."""
    marker = f'"object_id":{OBJECT_ID_SLOT},"object_type":'
    head, found, tail = template.prefix.rpartition(marker)
    if not found:
        raise ValueError("the template was not made with object_id=OBJECT_ID_SLOT")
    return head + '"object_id":', ',"object_type":' + tail


def normal(value: object) -> Any:
    """``value`` (an event's ``before`` or ``after``) in the form a JSON column gives back,
    which is the form the hash covers: tuples as lists, string keys, integral floats as
    integers."""
    return _normal(value)


def entry_hash(entry: Entry) -> str:
    """The hash ``entry`` should carry, recomputed from its content."""
    return hashlib.sha256(
        canonical(
            project=entry.project,
            seq=entry.seq,
            actor=entry.actor,
            verb=entry.verb,
            object_type=entry.object_type,
            object_id=entry.object_id,
            before=entry.before,
            after=entry.after,
            created_at=entry.created_at,
            prev_hash=entry.prev_hash,
        )
    ).hexdigest()


def seal(
    *,
    project: int | None,
    seq: int,
    actor: int | None,
    verb: str,
    object_type: str,
    object_id: int | None,
    before: object,
    after: object,
    created_at: dt.datetime,
    prev_hash: str,
) -> Entry:
    """The next entry of a chain whose head is (``seq`` - 1, ``prev_hash``), hashed.
    ``before``/``after`` are kept in the form a JSON column gives back."""
    entry = Entry(
        project=project,
        seq=seq,
        actor=actor,
        verb=verb,
        object_type=object_type,
        object_id=object_id,
        before=_normal(before),
        after=_normal(after),
        created_at=timestamp(created_at),
        prev_hash=prev_hash,
        hash="",
    )
    return replace(entry, hash=entry_hash(entry))


# --- the file format of a downloaded audit log ------------------------------------------------

# The fields of a downloaded line (``entry_line``), in order.
LINE_FIELDS = (
    "id",
    "project",
    "seq",
    "actor",
    "verb",
    "object_type",
    "object_id",
    "before",
    "after",
    "created_at",
    "prev_hash",
    "hash",
)


def entry_to_json(entry: Entry) -> dict[str, Any]:
    """One line of ``audit.jsonl``."""
    return {name: getattr(entry, name) for name in LINE_FIELDS}


def _int_or_none(data: Mapping[str, Any], name: str) -> int | None:
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name!r} must be an integer or null")
    return value


def _text(data: Mapping[str, Any], name: str) -> str:
    value = data.get(name)
    if not isinstance(value, str):
        raise ValueError(f"{name!r} must be a string")
    return value


def entry_from_json(data: object) -> Entry:
    """An ``Entry`` from one line of ``audit.jsonl`` (ValueError naming a bad field)."""
    if not isinstance(data, Mapping):
        raise ValueError("an event line must be a JSON object")
    missing = [name for name in LINE_FIELDS if name not in data]
    if missing:
        raise ValueError(f"missing {', '.join(repr(name) for name in missing)}")
    seq = _int_or_none(data, "seq")
    if seq is None:
        raise ValueError("'seq' must be an integer")
    return Entry(
        id=_int_or_none(data, "id"),
        project=_int_or_none(data, "project"),
        seq=seq,
        actor=_int_or_none(data, "actor"),
        verb=_text(data, "verb"),
        object_type=_text(data, "object_type"),
        object_id=_int_or_none(data, "object_id"),
        before=data["before"],
        after=data["after"],
        created_at=_text(data, "created_at"),
        prev_hash=_text(data, "prev_hash"),
        hash=_text(data, "hash"),
    )


# --- verification -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """The first place a chain does not hold. ``index`` is the 0-based position in the
    sequence given to ``verify`` (the event found there, or the end of the chain)."""

    index: int
    kind: str  # edited | deleted | reordered | relinked | foreign | truncated | anchor
    event_id: int | None
    seq: int | None
    message: str


@dataclass(frozen=True)
class Report:
    """What ``verify`` found: the events checked, the head reached, the first problem."""

    count: int
    head_seq: int
    head_hash: str
    problem: Problem | None

    @property
    def ok(self) -> bool:
        return self.problem is None


def _short(value: str) -> str:
    return value[:12] + "…" if len(value) > 12 else value


def verify(
    entries: Iterable[Entry],
    *,
    project: int | None,
    head: tuple[int, str] | None = None,
    anchors: Mapping[int, str] | None = None,
) -> Report:
    """Walk one chain (the entries of ``project`` in ``seq`` order, as read) and report the
    first event that was edited, deleted, reordered or inserted.

    ``head`` (seq, hash), when known (the database's chain head row, or a download's
    header), must be where the chain ends: events removed from the end show only there.
    ``anchors`` maps seq -> hash recorded earlier (an exported head): the chain must still
    hold that hash at that seq, which catches a rewrite of everything after a tampered
    event. Constant memory: one entry at a time.
    """
    prev_seq, prev_hash = 0, GENESIS
    count = 0
    expected_anchors = dict(anchors or {})

    def report(problem: Problem | None) -> Report:
        return Report(count=count, head_seq=prev_seq, head_hash=prev_hash, problem=problem)

    # One entry of lookahead (still constant memory) tells a swap of neighbours from a
    # deletion: the event found missing comes right after.
    items = iter(entries)
    following = next(items, None)
    index = -1
    while following is not None:
        entry, following = following, next(items, None)
        index += 1
        where = entry.label()
        if entry.project != project:
            return report(
                Problem(
                    index,
                    "foreign",
                    entry.id,
                    entry.seq,
                    f"{where} belongs to another chain (expected project {project}).",
                )
            )
        expected = prev_seq + 1
        recomputed = entry_hash(entry)
        content_ok = recomputed == entry.hash
        link_ok = entry.prev_hash == prev_hash
        if entry.seq > expected and link_ok is False:
            missing = (
                f"seq {expected}"
                if entry.seq == expected + 1
                else f"seq {expected}-{entry.seq - 1}"
            )
            if content_ok and following is not None and following.seq == expected:
                return report(
                    Problem(
                        index,
                        "reordered",
                        entry.id,
                        entry.seq,
                        f"{where} is out of place: expected seq {expected} after seq "
                        f"{prev_seq}, and seq {expected} comes right after it — it was moved "
                        f"here from later in the chain (or two events were swapped).",
                    )
                )
            if content_ok:
                return report(
                    Problem(
                        index,
                        "deleted",
                        entry.id,
                        entry.seq,
                        f"{where}: expected seq {expected} after seq {prev_seq}; {missing} "
                        f"is missing here — deleted (or moved elsewhere).",
                    )
                )
        if entry.seq != expected or (not content_ok and not link_ok):
            return report(
                Problem(
                    index,
                    "reordered",
                    entry.id,
                    entry.seq,
                    f"{where} is out of place: expected seq {expected} after seq {prev_seq} "
                    f"(hash {_short(prev_hash)}), found seq {entry.seq} "
                    f"linked to {_short(entry.prev_hash)}"
                    + ("" if content_ok else " and its content does not match its hash")
                    + " — events were reordered, inserted or renumbered.",
                )
            )
        if not content_ok:
            return report(
                Problem(
                    index,
                    "edited",
                    entry.id,
                    entry.seq,
                    f"{where} was edited: its content hashes to {_short(recomputed)}, "
                    f"but the stored hash is {_short(entry.hash)}.",
                )
            )
        if not link_ok:
            return report(
                Problem(
                    index,
                    "relinked",
                    entry.id,
                    entry.seq,
                    f"{where} does not follow the event before it: its prev_hash is "
                    f"{_short(entry.prev_hash)}, the previous event (seq {prev_seq}) hashes "
                    f"to {_short(prev_hash)} — the previous event was rewritten, or one was "
                    f"inserted or removed before it.",
                )
            )
        if entry.seq in expected_anchors and expected_anchors.pop(entry.seq) != entry.hash:
            return report(
                Problem(
                    index,
                    "anchor",
                    entry.id,
                    entry.seq,
                    f"{where} hashes to {_short(entry.hash)}, but a head kept earlier "
                    f"recorded another hash at seq {entry.seq}: the chain was rewritten up "
                    f"to here.",
                )
            )
        prev_seq, prev_hash = entry.seq, entry.hash
        count += 1
    if head is not None and head != (prev_seq, prev_hash):
        head_seq, head_hash = head
        if head_seq > prev_seq:
            detail = (
                f"the chain head records seq {head_seq} (hash {_short(head_hash)}), but the "
                f"last event is seq {prev_seq}: events after it were deleted."
            )
        else:
            detail = (
                f"the chain head records seq {head_seq} (hash {_short(head_hash)}), but the "
                f"chain ends at seq {prev_seq} (hash {_short(prev_hash)})."
            )
        return report(Problem(count, "truncated", None, prev_seq or None, detail))
    if expected_anchors:
        seq = min(expected_anchors)
        return report(
            Problem(
                count,
                "anchor",
                None,
                seq,
                f"a head kept earlier recorded seq {seq}, but the chain ends at seq "
                f"{prev_seq}: events were deleted.",
            )
        )
    return report(None)


class _BadLine(Exception):
    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


def verify_lines(lines: Iterable[str], *, anchors: Mapping[int, str] | None = None) -> Report:
    """Verify a downloaded ``audit.jsonl`` (an iterable of its lines) without a database.

    The first line may be the download's header (``{"schema": "workbench-audit/1",
    "project": {"id": …}, "head": {"seq", "hash"}, …}``): the chain must then belong to
    that project and end at that head, so lines cut off the end are caught too. A line
    that is not a well-formed event is reported with its line number."""
    iterator = iter(lines)
    header: dict[str, Any] | None = None
    first: Entry | None = None
    line_number = 0

    def parse(text: str, number: int) -> Any:
        try:
            return json.loads(text)
        except ValueError as exc:
            raise _BadLine(
                Problem(number - 1, "bad line", None, None, f"line {number} is not JSON: {exc}")
            ) from None

    def entries() -> Iterable[Entry]:
        nonlocal line_number
        if first is not None:
            yield first
        for text in iterator:
            line_number += 1
            if not text.strip():
                continue
            try:
                yield entry_from_json(parse(text, line_number))
            except ValueError as exc:
                raise _BadLine(
                    Problem(
                        line_number - 1,
                        "bad line",
                        None,
                        None,
                        f"line {line_number} is not an audit event: {exc}",
                    )
                ) from None

    try:
        for text in iterator:
            line_number += 1
            if not text.strip():
                continue
            data = parse(text, line_number)
            if isinstance(data, dict) and "schema" in data:
                header = data
            else:
                try:
                    first = entry_from_json(data)
                except ValueError as exc:
                    raise _BadLine(
                        Problem(
                            0,
                            "bad line",
                            None,
                            None,
                            f"line {line_number} is not an audit event: {exc}",
                        )
                    ) from None
            break
        head: tuple[int, str] | None = None
        project: int | None = first.project if first is not None else None
        if header is not None:
            info = header.get("project")
            project = info.get("id") if isinstance(info, dict) else None
            head_info = header.get("head")
            if isinstance(head_info, dict):
                head = (int(head_info.get("seq", 0)), str(head_info.get("hash", "")))
        return verify(entries(), project=project, head=head, anchors=anchors)
    except _BadLine as exc:
        return Report(count=0, head_seq=0, head_hash=GENESIS, problem=exc.problem)
