"""The OpenAPI contract over chains of calls (schemathesis stateful testing).

``schema.as_state_machine()`` turns the served schema's links (declared in
``annotations.api.openapi_links``, plus those schemathesis infers from ids) into a state
machine: each step calls one operation, in-process as in ``tests/api/test_contract.py``, and later
steps take ids, bodies and ETags from earlier answers (create a document → mark a claim in
it → read the claim → edit it with its ETag; lease a claim from the queue → submit a
verdict → read the verdicts and the consensus). Every answer gets the single-response checks
of ``tests/api/test_contract.py`` plus the stateful ones: a resource just created is there
(``ensure_resource_availability``), an operation that answered 2xx refuses the same call
without or with invalid credentials (``ignored_auth``), and nothing deleted is served again
(``use_after_free``, inert until the API has a DELETE); the outsider is refused the cast's
rows (``refuses_outsiders``). An anonymous caller gets 401 from every step, so it has no
chain to walk: ``tests/api/test_contract.py`` covers it.

Each scenario runs in a savepoint that is rolled back, so every one starts from the same
cast. Runs are derandomized and small: ``SCENARIOS`` scenarios of at most ``STEPS`` calls
per role and family of operations.
"""

from __future__ import annotations

import json
from collections import Counter
from types import SimpleNamespace
from typing import Any

import pytest
import schemathesis
from django.db import transaction
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.control import current_build_context
from hypothesis.strategies import SearchStrategy
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    ensure_resource_availability,
    ignored_auth,
    use_after_free,
)

from annotations.api.openapi_links import LINKS
from tests.api.test_contract import (
    BASE_URL,
    CHECKS,
    SCHEMA_URL,
    DjangoWSGIApp,
    _auth,
    _bind,
    _served_schema,
    make_cast,
    refuses_outsiders,
)
from tests.factories import make_user

SCENARIOS = 20  # hypothesis examples per role and family, each one scenario
STEPS = 8  # calls per scenario at most
# Bind ids, spans and prose three times in four: a chain needs several valid calls in a row.
LOADED = st.integers(0, 3).map(bool)
ROLES = ("admin", "editor", "reviewer_a", "outsider")
# use_after_free is inert until the API has a DELETE; it is here so that one is covered.
STATEFUL_CHECKS = [*CHECKS, use_after_free, ensure_resource_availability, ignored_auth]
# Three kinds of desk work, each run on its own so that a few short scenarios reach deep
# into it; the other operations (exports, revisions, imports, members, agreement) are single
# calls, covered by tests/api/test_contract.py.
FAMILIES = {
    "authoring": [
        "v1_projects_list",
        "v1_projects_create",
        "v1_documents_list",
        "v1_documents_create",
        "v1_documents_retrieve",
        "v1_claims_create",
        "v1_claims_retrieve",
        "v1_claims_partial_update",
    ],
    "reviewing": [
        "v1_projects_list",
        "v1_queue_next_create",
        "v1_claims_retrieve",
        "v1_claims_verdicts_create",
        "v1_claims_verdicts_list",
        "v1_claims_consensus_list",
        "v1_claims_release_create",
        "v1_claims_skip_create",
    ],
    "deciding": [
        "v1_claims_list",
        "v1_claims_retrieve",
        "v1_claims_verdicts_list",
        "v1_claims_adjudicate_create",
        "v1_claims_publish_create",
        "v1_claims_reopen_create",
        "v1_claims_withdraw_create",
    ],
}
MEMBERS = ("admin", "editor", "reviewer_a")
# The fewest links a run must follow from a 2xx answer to a 2xx answer, so that a change
# that leaves the chains unwalked fails instead of passing vacuously; and the fewest of those
# into a write (POST, PATCH) through a link declared in annotations.api.openapi_links. Far
# below what the runs do (25 to 85 links, 17 to 26 declared writes), because any edit to the
# code shifts the scenarios: Hypothesis mixes literals from the source into its data. The
# outsider may not touch the cast's claims, so its deciding run meets refusals only.
MIN_FOLLOWED = {
    **{(role, family): 5 for role in ROLES for family in FAMILIES},
    # The outsider mostly meets the other project's 404s; its derandomized walk through its
    # own documents is drawn from the whole schema, so each new family of operations
    # (invitations, tokens, revise, then publications and webhooks) shortens it: it follows
    # 1 link on both backends now. The floor guards against a walk that dies at once.
    ("outsider", "authoring"): 1,
    ("outsider", "deciding"): 0,
}
MIN_DECLARED_WRITES = {
    ("admin", "authoring"): 1,
    ("editor", "authoring"): 1,
    **{(role, "reviewing"): 1 for role in MEMBERS},
}


class _Draws:
    """``st.data()`` for a step: schemathesis builds the rules, so they take no data argument;
    this draws from the running example instead (replayable, like any other draw)."""

    def draw(self, strategy: SearchStrategy, label: str | None = None) -> Any:
        return current_build_context().data.draw(strategy)


@pytest.fixture(scope="module")
def app() -> DjangoWSGIApp:
    return DjangoWSGIApp()


@pytest.fixture(scope="module")
def api_schema(app: DjangoWSGIApp) -> Any:
    # Valid requests only: test_contract.py sends the malformed ones, and a chain needs its
    # early calls to succeed to get anywhere. No generated Authorization or session cookie:
    # each run sends its persona's token (ignored_auth probes without it), and a generated
    # credential would keep ensure_resource_availability from judging a follow-up whose
    # every parameter came from a link. No literals mined from the app's source by
    # schemathesis (Hypothesis still mixes in some of its own).
    config = SchemathesisConfig.from_dict(
        {
            "generation": {"mode": "positive", "with-security-parameters": False},
            "analysis": {"constants": {"enabled": False}},
        }
    )
    schema = schemathesis.openapi.from_dict(_served_schema(), config=config)
    schema.app, schema.location = app, SCHEMA_URL
    return schema


@pytest.fixture
def cast(db: None) -> SimpleNamespace:
    return make_cast()


def _workflow(
    api_schema: Any,
    operations: list[str],
    app: DjangoWSGIApp,
    cast: SimpleNamespace,
    persona: str,
    walked: Counter,
) -> type:
    """The state machine over ``operations``, calling as ``persona`` and checking every
    answer; ``walked`` counts the links followed from one success to another, by (source,
    target, whether the link is a declared one rather than inferred)."""
    auth = _auth(persona, cast)
    checks = [*STATEFUL_CHECKS, refuses_outsiders(persona, cast)]

    class Workflow(api_schema.include(operation_id=operations).as_state_machine()):  # type: ignore[misc]
        def setup(self) -> None:
            self.savepoint = transaction.atomic()
            self.savepoint.__enter__()

        def teardown(self) -> None:
            transaction.set_rollback(True)
            self.savepoint.__exit__(None, None, None)

        def step(self, input: Any) -> Any:
            # Root calls get real ids and names as in test_contract.py; a linked call keeps
            # what its link filled in.
            keep = {name for _, name in input.applied_parameters if name}
            _bind(input.case, _Draws(), cast, keep=keep, coin=LOADED)
            app.errors.clear()
            output = super().step(input)
            if input.transition is not None and 200 <= output.response.status_code < 300:
                parent = self.recorder.find_parent(case_id=input.case.id)
                answer = parent and self.recorder.find_response(case_id=parent.id)
                if answer is not None and 200 <= answer.status_code < 300:
                    declared = not input.transition.is_inferred and input.is_applied
                    walked[parent.operation.label, input.case.operation.label, declared] += 1
            return output

        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"base_url": BASE_URL, "headers": auth}

        def validate_response(
            self, response: Any, case: Any, additional_checks: Any = None, **kwargs: Any
        ) -> None:
            try:
                case.validate_response(
                    response,
                    checks=checks,
                    headers=auth,  # explicit credentials: ignored_auth probes without them
                    transport_kwargs=kwargs,
                    recorder=self.recorder,
                )
            except Exception as exc:
                for error in app.errors:
                    exc.add_note(error)
                raise

    return Workflow


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("persona", ROLES)
def test_chained_calls_conform_to_the_schema(
    persona: str, family: str, cast: SimpleNamespace, app: DjangoWSGIApp, api_schema: Any
) -> None:
    make_user("newcomer")
    walked: Counter = Counter()
    workflow = _workflow(api_schema, FAMILIES[family], app, cast, persona, walked)
    workflow.run(
        settings=settings(
            max_examples=SCENARIOS,
            stateful_step_count=STEPS,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
    )
    assert sum(walked.values()) >= MIN_FOLLOWED[persona, family], sorted(walked.items())
    declared_writes = sum(
        n for (_, target, declared), n in walked.items() if declared and _writes(target)
    )
    assert declared_writes >= MIN_DECLARED_WRITES.get((persona, family), 0), sorted(walked.items())


def _writes(label: str) -> bool:
    return label.split()[0] in ("POST", "PATCH")


def test_the_served_schema_declares_every_link(db: None) -> None:
    document = _served_schema()
    operations = {
        operation["operationId"]: operation
        for path in document["paths"].values()
        for operation in path.values()
    }
    for (operation_id, status), links in LINKS.items():
        served = operations[operation_id]["responses"][status]["links"]
        assert served == links, (operation_id, status, json.dumps(served))
        for link in links.values():
            assert link["operationId"] in operations, link
