"""The audit hash chain (annotations/core/auditchain.py): canonical form, hashing, and
verification that names the first edited, deleted, reordered or inserted event."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from annotations.core import auditchain
from annotations.core.auditchain import GENESIS, Entry

pytestmark = pytest.mark.db_independent

T0 = dt.datetime(2026, 12, 3, 14, 0, 0, 123456, tzinfo=dt.UTC)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
payloads = st.none() | st.dictionaries(st.text(max_size=8), json_values, max_size=4)
records = st.fixed_dictionaries(
    {
        "actor": st.none() | st.integers(min_value=1, max_value=10**6),
        "verb": st.sampled_from(["claim.create", "verdict.submit", "claim.status", "x.y"]),
        "object_type": st.sampled_from(["claim", "verdict", "document", "assignment"]),
        "object_id": st.none() | st.integers(min_value=1, max_value=10**9),
        "before": payloads,
        "after": payloads,
        "offset": st.integers(min_value=0, max_value=10**9),
    }
)


EXAMPLES = settings(max_examples=40, deadline=None)


def build_chain(items: list[dict[str, Any]], project: int | None = 7) -> list[Entry]:
    chain: list[Entry] = []
    prev = GENESIS
    for seq, item in enumerate(items, start=1):
        entry = auditchain.seal(
            project=project,
            seq=seq,
            actor=item["actor"],
            verb=item["verb"],
            object_type=item["object_type"],
            object_id=item["object_id"],
            before=item["before"],
            after=item["after"],
            created_at=T0 + dt.timedelta(microseconds=item["offset"]),
            prev_hash=prev,
        )
        chain.append(dataclasses.replace(entry, id=1000 + seq))
        prev = entry.hash
    return chain


chains = st.lists(records, min_size=2, max_size=12).map(build_chain)


def first_problem(chain: list[Entry], **options: Any) -> auditchain.Problem:
    report = auditchain.verify(chain, project=7, **options)
    assert report.problem is not None, "tampering went unnoticed"
    return report.problem


@EXAMPLES
@given(chains)
def test_an_untouched_chain_verifies_and_reports_its_head(chain: list[Entry]) -> None:
    report = auditchain.verify(chain, project=7, head=(chain[-1].seq, chain[-1].hash))
    assert report.ok
    assert (report.count, report.head_seq, report.head_hash) == (
        len(chain),
        chain[-1].seq,
        chain[-1].hash,
    )


@EXAMPLES
@given(chains)
def test_it_survives_a_round_trip_through_json_storage(chain: list[Entry]) -> None:
    # What a JSON column or the downloaded file gives back still verifies.
    lines = [json.dumps(auditchain.entry_to_json(entry)) for entry in chain]
    back = [auditchain.entry_from_json(json.loads(line)) for line in lines]
    assert auditchain.verify(back, project=7).ok


FIELDS = {
    "actor": lambda value: (value or 0) + 1,
    "verb": lambda value: value + "!",
    "object_type": lambda value: value + "s",
    "object_id": lambda value: (value or 0) + 1,
    "before": lambda value: {"edited": True, "was": value},
    "after": lambda value: {"edited": True, "was": value},
    "created_at": lambda value: value.replace("Z", "1Z"),
}


@EXAMPLES
@given(chains, st.data())
def test_an_edit_is_found_at_the_edited_event(chain: list[Entry], data: st.DataObject) -> None:
    index = data.draw(st.integers(min_value=0, max_value=len(chain) - 1))
    name = data.draw(st.sampled_from(sorted(FIELDS)))
    edited = dataclasses.replace(chain[index], **{name: FIELDS[name](getattr(chain[index], name))})
    chain[index] = edited
    problem = first_problem(chain)
    assert (problem.index, problem.kind, problem.seq) == (index, "edited", index + 1)
    assert f"event {edited.id} " in problem.message


@EXAMPLES
@given(chains, st.data())
def test_an_edit_that_rehashes_the_event_breaks_the_next_link(
    chain: list[Entry], data: st.DataObject
) -> None:
    index = data.draw(st.integers(min_value=0, max_value=len(chain) - 2))
    edited = dataclasses.replace(chain[index], verb="forged")
    chain[index] = dataclasses.replace(edited, hash=auditchain.entry_hash(edited))
    problem = first_problem(chain)
    assert (problem.index, problem.kind) == (index + 1, "relinked")


@EXAMPLES
@given(chains, st.data())
def test_a_deletion_is_found_where_the_gap_is(chain: list[Entry], data: st.DataObject) -> None:
    index = data.draw(st.integers(min_value=0, max_value=len(chain) - 2))
    del chain[index]
    problem = first_problem(chain)
    assert (problem.index, problem.kind, problem.seq) == (index, "deleted", index + 2)
    assert f"seq {index + 1} is missing" in problem.message


@EXAMPLES
@given(chains)
def test_deleting_the_last_events_shows_against_the_head(chain: list[Entry]) -> None:
    head = (chain[-1].seq, chain[-1].hash)
    assert auditchain.verify(chain[:-1], project=7).ok  # undetectable without a head...
    problem = first_problem(chain[:-1], head=head)  # ...and caught with one
    assert (problem.index, problem.kind) == (len(chain) - 1, "truncated")
    assert "were deleted" in problem.message


@EXAMPLES
@given(chains, st.data())
def test_a_reordering_is_found_at_the_first_moved_event(
    chain: list[Entry], data: st.DataObject
) -> None:
    i = data.draw(st.integers(min_value=0, max_value=len(chain) - 2))
    j = data.draw(st.integers(min_value=i + 1, max_value=len(chain) - 1))
    chain[i], chain[j] = chain[j], chain[i]
    problem = first_problem(chain)
    assert problem.index == i
    # Two neighbours swapped (lines of a download) read as a reordering, never a deletion;
    # a line moved further is named as missing here ("or moved elsewhere").
    assert problem.kind == ("reordered" if j == i + 1 else "deleted")
    assert "moved" in problem.message or "reordered" in problem.message


@EXAMPLES
@given(chains, st.data())
def test_swapping_seq_numbers_is_found_at_the_lower_one(
    chain: list[Entry], data: st.DataObject
) -> None:
    # As an UPDATE of two rows' seq would do: the rows are read back in seq order.
    i = data.draw(st.integers(min_value=0, max_value=len(chain) - 2))
    j = data.draw(st.integers(min_value=i + 1, max_value=len(chain) - 1))
    a, b = chain[i], chain[j]
    chain[i], chain[j] = dataclasses.replace(b, seq=a.seq), dataclasses.replace(a, seq=b.seq)
    problem = first_problem(chain)
    assert (problem.index, problem.kind, problem.event_id) == (i, "reordered", b.id)


@EXAMPLES
@given(chains, st.data(), records)
def test_an_insertion_is_found_where_it_breaks_the_chain(
    chain: list[Entry], data: st.DataObject, record: dict[str, Any]
) -> None:
    index = data.draw(st.integers(min_value=0, max_value=len(chain) - 1))
    forged = data.draw(st.booleans())
    prev = chain[index - 1].hash if index else GENESIS
    [inserted] = build_chain([record])
    inserted = dataclasses.replace(inserted, seq=index + 1, prev_hash=prev, id=None)
    # A well-formed successor shows the break at the event after it; any other at itself.
    inserted = dataclasses.replace(
        inserted, hash=auditchain.entry_hash(inserted) if forged else "f" * 64
    )
    chain.insert(index, inserted)
    problem = first_problem(chain)
    assert problem.index == (index + 1 if forged else index)


@EXAMPLES
@given(chains, st.data())
def test_an_anchor_catches_a_rewrite_of_the_whole_tail(
    chain: list[Entry], data: st.DataObject
) -> None:
    # Someone with write access edits one event and rehashes everything after it: the
    # chain is self-consistent again, but no longer holds the head kept earlier.
    index = data.draw(st.integers(min_value=0, max_value=len(chain) - 1))
    kept = {chain[-1].seq: chain[-1].hash}
    items = [
        {
            "actor": e.actor,
            "verb": e.verb if n != index else "forged",
            "object_type": e.object_type,
            "object_id": e.object_id,
            "before": e.before,
            "after": e.after,
            "offset": 0,
        }
        for n, e in enumerate(chain)
    ]
    rewritten = build_chain(items)
    assert auditchain.verify(rewritten, project=7).ok
    problem = first_problem(rewritten, anchors=kept)
    assert (problem.kind, problem.seq) == ("anchor", chain[-1].seq)


def test_another_projects_event_is_refused() -> None:
    chain = build_chain(
        [
            {
                "actor": 1,
                "verb": "v",
                "object_type": "o",
                "object_id": 1,
                "before": None,
                "after": None,
                "offset": 0,
            }
        ],
        project=8,
    )
    problem = first_problem(chain)
    assert problem.kind == "foreign"


def test_the_canonical_form_is_fixed() -> None:
    # Changing it breaks every stored chain: this pins version 1 byte for byte.
    content = auditchain.canonical(
        project=1,
        seq=2,
        actor=None,
        verb="claim.create",
        object_type="claim",
        object_id=3,
        before=None,
        after={"b": 1.0, "a": ("é", 0.5)},
        created_at=auditchain.timestamp(dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)),
        prev_hash=GENESIS,
    )
    assert content == (
        b'{"actor":null,"after":{"a":["\\u00e9",0.5],"b":1},"before":null,'
        b'"created_at":"2026-01-02T03:04:05.000000Z","object_id":3,"object_type":"claim",'
        b'"prev_hash":"' + GENESIS.encode() + b'","project":1,"seq":2,"v":1,"verb":"claim.create"}'
    )


# Payloads that spell the cut points themselves: nested "prev_hash" and "seq" keys, and
# strings that look like the canonical text around them.
tricky_keys = st.sampled_from(["prev_hash", "seq", "v", "verb", '"seq":', '","project":'])
tricky_payloads = st.none() | st.dictionaries(
    tricky_keys | st.text(max_size=8),
    json_values | tricky_keys | st.builds(lambda n: {"seq": n, "prev_hash": ""}, st.integers()),
    max_size=4,
)
hashes = st.text(alphabet="0123456789abcdef", min_size=0, max_size=64) | st.just(GENESIS)


@settings(max_examples=300, deadline=None)
@given(
    records,
    tricky_payloads,
    st.none() | st.integers(min_value=1, max_value=2**63 - 1),
    st.integers(min_value=1, max_value=2**63 - 1),
    hashes,
    st.text(max_size=30),
)
def test_a_template_filled_with_any_seq_and_prev_hash_is_the_canonical_form(
    item: dict[str, Any], tricky: object, project: int | None, seq: int, prev: str, verb: str
) -> None:
    # What the database seals against its head row (services._base, PostgreSQL) must be
    # byte for byte what canonical() hashes, for every content and every place in a chain.
    fields = {
        "project": project,
        "actor": item["actor"],
        "verb": verb,
        "object_type": item["object_type"],
        "object_id": item["object_id"],
        "before": item["before"],
        "after": tricky,
        "created_at": auditchain.timestamp(T0 + dt.timedelta(microseconds=item["offset"])),
    }
    template = auditchain.canonical_template(**fields)
    expected = auditchain.canonical(**fields, seq=seq, prev_hash=prev)
    assert template.fill(seq=seq, prev_hash=prev) == expected
    joined = template.prefix + prev + template.middle + str(seq) + template.suffix
    assert joined.encode("ascii") == expected


@settings(max_examples=300, deadline=None)
@given(
    records,
    tricky_payloads,
    tricky_payloads,
    st.integers(min_value=1, max_value=2**63 - 1),
    st.integers(min_value=1, max_value=2**63 - 1),
    hashes,
)
def test_a_template_cut_around_its_object_id_is_the_canonical_form_for_any_id(
    item: dict[str, Any], before: object, after: object, object_id: int, seq: int, prev: str
) -> None:
    # What the database seals for an event naming a row it inserts in the same statement
    # (services._base, PostgreSQL): the id's digits joined between the two parts. Payloads
    # may spell the marker itself (a nested "object_id" key holding the slot).
    spelled = {"object_id": auditchain.OBJECT_ID_SLOT, "object_type": "claim"}
    fields = {
        "project": item["actor"],
        "actor": item["actor"],
        "verb": "claim.create",
        "object_type": item["object_type"],
        "before": [before, spelled],
        "after": {"x": after, "object_id": auditchain.OBJECT_ID_SLOT, "n": spelled},
        "created_at": auditchain.timestamp(T0 + dt.timedelta(microseconds=item["offset"])),
    }
    template = auditchain.canonical_template(**fields, object_id=auditchain.OBJECT_ID_SLOT)
    first, second = auditchain.object_cut(template)
    joined = first + str(object_id) + second + prev + template.middle + str(seq) + template.suffix
    expected = auditchain.canonical(**fields, object_id=object_id, seq=seq, prev_hash=prev)
    assert joined.encode("ascii") == expected


def test_only_a_template_made_for_the_cut_can_be_cut() -> None:
    template = auditchain.canonical_template(
        project=None,
        actor=None,
        verb="x.y",
        object_type="claim",
        object_id=7,
        before=None,
        after={"object_id": auditchain.OBJECT_ID_SLOT},
        created_at=auditchain.timestamp(T0),
    )
    with pytest.raises(ValueError, match="OBJECT_ID_SLOT"):
        auditchain.object_cut(template)


def test_a_template_refuses_what_json_would_escape() -> None:
    template = auditchain.canonical_template(
        project=None,
        actor=None,
        verb="x.y",
        object_type="claim",
        object_id=None,
        before=None,
        after=None,
        created_at=auditchain.timestamp(T0),
    )
    with pytest.raises(ValueError, match="hex"):
        template.fill(seq=1, prev_hash='"')
    with pytest.raises(ValueError, match="hex"):
        template.fill(seq=0, prev_hash=GENESIS)
    assert template.fill(seq=1, prev_hash=GENESIS).startswith(b'{"actor":null,"after":null,')


def test_times_must_carry_a_zone() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        auditchain.timestamp(dt.datetime(2026, 1, 1))
    assert (
        auditchain.timestamp(dt.datetime(2026, 1, 1, 2, tzinfo=dt.timezone(dt.timedelta(hours=2))))
        == "2026-01-01T00:00:00.000000Z"
    )


@EXAMPLES
@given(chains, st.data())
def test_a_downloaded_file_verifies_and_a_changed_line_does_not(
    chain: list[Entry], data: st.DataObject
) -> None:
    header = {
        "schema": "workbench-audit/1",
        "project": {"id": 7},
        "head": {"seq": chain[-1].seq, "hash": chain[-1].hash},
    }
    lines = [json.dumps(header)] + [json.dumps(auditchain.entry_to_json(e)) for e in chain]
    assert auditchain.verify_lines(lines).ok
    assert not auditchain.verify_lines(lines[:-1]).ok  # a line cut off the end
    index = data.draw(st.integers(min_value=1, max_value=len(lines) - 1))
    row = json.loads(lines[index])
    row["after"] = {"tampered": True}
    lines[index] = json.dumps(row)
    problem = auditchain.verify_lines(lines).problem
    assert problem is not None and problem.index == index - 1 and problem.kind == "edited"


def test_a_line_that_is_not_an_event_is_named() -> None:
    problem = auditchain.verify_lines(['{"schema": "workbench-audit/1"}', "not json"]).problem
    assert problem is not None and "line 2 is not JSON" in problem.message
    problem = auditchain.verify_lines(['{"seq": 1}']).problem
    assert problem is not None and "line 1 is not an audit event" in problem.message
