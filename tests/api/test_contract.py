"""The OpenAPI schema is the contract.

schemathesis reads ``/api/schema/`` from the app, generates requests for every operation,
sends them to the app in-process (WSGI, on the test's own database connection and
transaction) as each role in turn (project admin, editor, reviewer, a member of another
project only, and an anonymous caller), and checks every response against the schema: no
5xx, only documented status codes, documented content types and headers, and bodies that
match the documented schemas. The outsider and the anonymous caller must also be refused
(``refuses_outsiders``). ``tests/api/test_stateful.py`` chains calls on top of this.

Known schema gaps are listed in ``SCHEMA_GAPS``: a generated run of an operation with a
known gap xfails only if *every* failure it found is that gap (anything else still fails),
and ``DOCUMENTED_ANSWERS`` pins each gap with one fixed request as a strict xfail, so that
fixing an ``@extend_schema`` declaration turns its entries into failures to delete.
"""

from __future__ import annotations

import copy
import json
import re
import sys
import traceback
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

import pytest
import schemathesis
from django.conf import settings as django_settings
from django.contrib.staticfiles import finders
from django.core.signals import got_request_exception
from django.db import transaction
from django.test import Client, override_settings
from django.test.client import ClientHandler
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import CheckFunction, not_a_server_error
from schemathesis.core.failures import Failure
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from annotations import services
from annotations.models import Notification, Role, WebhookDelivery
from tests.api.base import DEFAULT_SCALE_KEYS
from tests.factories import (
    Personas,
    api_token,
    judge,
    make_claim,
    make_document,
    make_member,
    make_user,
)
from workbench import errors

SCHEMA_URL = "/api/schema/"
# URL_FORMAT_OVERRIDE is off (``format`` is an export parameter), so ask for JSON by media type.
SCHEMA_JSON = {"Accept": "application/vnd.oai.openapi+json"}
BASE_URL = "http://testserver"
MAX_EXAMPLES = 15

# Every check about a single response. Left out on purpose: positive_data_acceptance and
# negative_data_rejection (a schema-valid body routinely names a document, project or
# rating that does not exist or is not the caller's, and the API rightly answers 400), and
# the stateful checks (use_after_free, ensure_resource_availability, ignored_auth), which
# need a recorded multi-call scenario: tests/api/test_stateful.py runs them.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@dataclass(frozen=True)
class Gap:
    """A known schema problem and how to recognise the failures it causes."""

    reason: str
    matches: Callable[[Failure], bool]


# label -> gaps; (persona, label) where only one persona reaches the failing answer. Empty:
# every schema gap found so far has been fixed in the @extend_schema declarations. Add a
# Gap here (with a matcher for its failures) to pin a newly found one as a strict xfail.
SCHEMA_GAPS: dict[str | tuple[str, str], tuple[Gap, ...]] = {}


def _known(error: BaseException, gaps: Iterable[Gap]) -> list[Gap] | None:
    """The gaps that explain every failure in ``error``, or None if one is unexplained."""
    gaps = list(gaps)
    explained: list[Gap] = []
    for failure in _failures(error):
        gap = next((g for g in gaps if isinstance(failure, Failure) and g.matches(failure)), None)
        if gap is None:
            return None
        if gap not in explained:
            explained.append(gap)
    return explained


def _failures(error: BaseException) -> list[BaseException]:
    """The leaves of (nested) exception groups: schemathesis failures or other errors."""
    if isinstance(error, BaseExceptionGroup):
        return [leaf for inner in error.exceptions for leaf in _failures(inner)]
    return [error]


def _served_schema() -> dict[str, Any]:
    """The schema as the app generates it; needs no database, so it can run at import."""
    return json.loads(json.dumps(SchemaGenerator().get_schema(request=None, public=True)))


def _operation_labels() -> list[str]:
    methods = {"get", "post", "put", "patch", "delete"}
    return [
        f"{method.upper()} {path}"
        for path, operations in _served_schema()["paths"].items()
        for method in operations
        if method in methods
    ]


OPERATIONS = _operation_labels()
# Every role: project admin, editor, reviewer, a member of another project only, and a
# caller without credentials (no Authorization header).
PERSONAS = ("admin", "editor", "reviewer_a", "outsider", "anonymous")
TOKEN_OPERATION = "POST /api/v1/auth/token/"
# Text that only members of the cast's project may read: its documents and claims.
PRIVATE_TEXT = ("crime fell 20%", "record low of 3.1%", "new bridge cost", "A second text.")
# A new document's text when one is bound: long enough for every bound span (start < 40,
# end < 70), and none of PRIVATE_TEXT, which an outsider may post and read back.
PROSE = "Turnout rose to 71% in the city, the council said.\nThe new tram opened two years late.\n"


class DjangoWSGIApp:
    """A WSGI app over Django's test request handler.

    Unlike ``get_wsgi_application()`` it leaves the database connection open when a
    request ends, so every request runs inside the test's transaction; unhandled
    exceptions are kept so that a 500 is reported with its traceback.
    """

    def __init__(self) -> None:
        self.handler = ClientHandler(enforce_csrf_checks=True)
        self.errors: list[str] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        def remember(**_: Any) -> None:
            self.errors.append("".join(traceback.format_exception(*sys.exc_info())))

        got_request_exception.connect(remember)
        try:
            response = self.handler(environ)
        finally:
            got_request_exception.disconnect(remember)
        headers = list(response.items())
        headers += [("Set-Cookie", c.output(header="").strip()) for c in response.cookies.values()]
        start_response(f"{response.status_code} {response.reason_phrase}", headers)
        # Hand over bytes, not the response: the WSGI server would call response.close()
        # a second time, and its request_finished signal closes the database connection,
        # which ends the test's transaction (PostgreSQL then commits later writes).
        return [b"".join(response)]


@pytest.fixture(scope="module")
def app() -> DjangoWSGIApp:
    return DjangoWSGIApp()


@pytest.fixture(scope="module")
def api_schema(app: DjangoWSGIApp) -> Any:
    # /api/schema/ is for signed-in members only (SPECTACULAR_SETTINGS SERVE_PERMISSIONS), and
    # a module-scoped fixture has no database: load the same document from the generator.
    schema = schemathesis.openapi.from_dict(_served_schema())
    schema.app, schema.location = app, SCHEMA_URL
    return schema


def _member_client() -> Client:
    """A client signed in as a user of no project (the schema and docs need a sign-in)."""
    client = Client()
    client.force_login(make_user("schema_reader"))
    return client


@pytest.fixture(scope="module")
def shared_cast(
    django_db_setup: None, django_db_blocker: Any, api_schema: Any
) -> Iterator[SimpleNamespace]:
    """The cast, built once per module (per xdist worker) in a transaction that is rolled
    back when the module ends; the database is never left with its rows. (After the schema
    is loaded: the transaction never waits idle on that, as PostgreSQL ends a session idle
    in a transaction after DB_IDLE_IN_TRANSACTION_TIMEOUT_MS.)"""
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        # As TestCase marks its own blocks: a durable block inside a test is not refused for it.
        outer._from_testcase = True
        outer.__enter__()
    try:
        with django_db_blocker.unblock():
            built = make_cast()
        yield built
    finally:
        with django_db_blocker.unblock():
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


@pytest.fixture
def cast(shared_cast: SimpleNamespace, db: None) -> SimpleNamespace:
    """The module's cast for one test: ``db`` opens a savepoint inside the module's
    transaction and rolls it back after the test, so each test starts from the rows
    ``make_cast`` left; the objects are deep copies (as TestCase.setUpTestData hands
    them out), so one test's changes to them in memory never reach the next."""
    return copy.deepcopy(shared_cast)


def make_cast() -> SimpleNamespace:
    """Personas plus claims in every state, leases for both callers, verdicts with
    citations, so that generated requests reach past the lookups into real responses."""

    class Cast(Personas):
        pass

    Cast.make_personas()
    c = SimpleNamespace(**{k: v for k, v in vars(Cast).items() if not k.startswith("_")})
    c.reviewer_d = make_member(c.project, "reviewer_d", Role.REVIEWER)
    source = services.source_get_or_create(
        url="https://stats.example.org/", actor=c.reviewer_a, project=c.project
    )
    cite = [services.CitationInput(stance="refutes", source_id=source.pk, quote="12%")]
    c.resolved = make_claim(document=c.document, actor=c.creator, exact="crime fell 20%")
    judge(c.resolved, c.reviewer_a, "false", citations=cite)
    judge(c.resolved, c.reviewer_b, "false")
    c.disputed = make_claim(document=c.document, actor=c.creator, exact="record low of 3.1%")
    judge(c.disputed, c.reviewer_b, "true")
    # By URL: reviewer_c may not name by id a source cited only on a claim still blind to them.
    by_url = [services.CitationInput(stance="refutes", url=source.url, quote="12%")]
    judge(c.disputed, c.reviewer_c, "false", citations=by_url)
    c.published = make_claim(document=c.document, actor=c.creator, exact="Others disagree")
    judge(c.published, c.reviewer_b, "true")
    judge(c.published, c.reviewer_d, "true")
    services.claim_publish(
        claim=c.published, editor=c.editor, summary="Checked against the official figures."
    )
    c.open = make_claim(document=c.document, actor=c.creator, exact="new bridge cost $2 billion")
    for user in (c.admin, c.reviewer_a):
        services.lease_next(reviewer=user, project=c.project)
    c.second_document = make_document(
        project=c.project, actor=c.editor, text="A second text.", source_url="https://a.example/"
    )
    # fetch-metadata must never reach the network: a private address is refused before any
    # connection is made (annotations.core.fetching), so this source is safe to "fetch".
    # (Cited while the deployment allowed the intranet host: input refuses it otherwise.)
    with override_settings(WORKBENCH_FETCH_ALLOWED_HOSTS=["10.0.0.1"]):
        blocked = services.source_get_or_create(
            url="http://10.0.0.1/report", actor=c.admin, project=c.project
        )
    # A snapshot of it: the fetcher refuses the private address before connecting, so the
    # snapshot records that (refused_address, no WARC) without any traffic.
    snapshot = services.snapshot_take(source_id=blocked.pk, requested_by=c.admin)
    # Invitations from the other project's admin: reviewer_a's to accept or decline, and
    # one to a name that is no account.
    invitations = [
        services.invitation_create(
            project=c.other_project, actor=c.outsider, invited_as=name, role=Role.REVIEWER
        )
        for name in ("reviewer_a", "editor", "nobody")
    ]
    # A webhook endpoint (its host is never looked up when it is stored) with a failed,
    # replayable delivery.
    webhook = services.webhook_endpoint_create(
        project=c.project, actor=c.admin, url="https://hooks.example.org/in",
        event_types=["claim.published"],
    ).endpoint  # fmt: skip
    deliveries = services.webhooks_enqueue(
        project_id=c.project.pk, event_type="claim.published", data={"claim_id": 1}
    )
    WebhookDelivery.objects.filter(pk__in=[d.pk for d in deliveries]).update(status="failed")
    # A claimant with an alias (the registry's names are never looked up elsewhere).
    claimant = services.claimant_create(
        project=c.project, name="The Mayor", actor=c.editor, aliases=["Mayor Adams"]
    )
    # Discussion: reviewer_a's comment on the claim they judged, mentioning reviewer_b (who
    # judged it too: the notice is theirs to read and mark); an editor's note.
    comment = services.comment_create(
        claim=c.resolved, author=c.reviewer_a, body="See https://stats.example.org/ @reviewer_b"
    )
    note = services.comment_create(
        claim=c.resolved, author=c.editor, body="@reviewer_a note", visibility="everyone"
    )
    c.ids = {
        "comments": [comment.pk, note.pk],
        "notifications": list(Notification.objects.values_list("pk", flat=True)),
        "claimants": [claimant.pk],
        "aliases": list(claimant.names.filter(is_primary=False).values_list("pk", flat=True)),
        "webhooks": [webhook.pk],
        "deliveries": [d.pk for d in deliveries],
        "invitations": [i.pk for i in invitations],
        "sources": [blocked.pk],
        "snapshots": [snapshot.pk],
        "projects": [c.project.pk, c.other_project.pk],
        "documents": [c.document.pk, c.second_document.pk],
        "claims": [c.open.pk, c.resolved.pk, c.disputed.pk, c.published.pk],
    }
    return c


FAIR_COIN = st.booleans()


def _kind(case: Any) -> str:
    """The collection an operation's ``{id}`` names: projects, documents, claims, sources,
    invitations."""
    return case.operation.path.removeprefix("/api/v1/").split("/")[0]


def _bind(
    case: Any,
    data: Any,
    cast: SimpleNamespace,
    *,
    keep: Collection[str] = frozenset(),
    coin: st.SearchStrategy[bool] = FAIR_COIN,
) -> None:
    """Point ids and names in a generated request at real rows (or real prose) half of the time.

    ``data`` is anything with ``draw(strategy, label=...)`` (``st.data()``); names in ``keep``
    were filled in by a link of the stateful run and are left alone; ``coin`` decides each
    binding (a fair one by default)."""
    kind = _kind(case)
    if "id" in (case.path_parameters or {}) and "id" not in keep:
        case.path_parameters["id"] = data.draw(st.sampled_from(cast.ids[kind]), label="id")
    for name, ids in (
        ("endpoint_pk", "webhooks"),
        ("delivery_pk", "deliveries"),
        ("alias_pk", "aliases"),
        ("comment_pk", "comments"),
    ):
        if name in (case.path_parameters or {}) and name not in keep:
            case.path_parameters[name] = data.draw(st.sampled_from(cast.ids[ids]), label=name)
    choices = {
        "project": st.sampled_from(cast.ids["projects"]),
        "document": st.sampled_from(cast.ids["documents"]),
        "rating": st.sampled_from(DEFAULT_SCALE_KEYS),
        "username": st.sampled_from(["newcomer", "reviewer_d", "admin", "outsider"]),
        "text": st.just(PROSE),
        # A generated citation names no real source: cite nothing instead, half of the time.
        "citations": st.just([]),
    }
    for container in (case.query, case.body):
        if not isinstance(container, dict):
            continue
        for name, strategy in choices.items():
            if name in container and name not in keep and data.draw(coin, label=f"bind {name}"):
                container[name] = data.draw(strategy, label=name)
    body = case.body
    if (
        isinstance(body, dict)
        and {"start", "end"} <= set(body)
        and not {"start", "end"} & set(keep)
        and data.draw(coin, label="bind span")
    ):
        body["start"] = data.draw(st.integers(0, 40), label="start")
        body["end"] = body["start"] + data.draw(st.integers(1, 30), label="length")
        body.pop("exact", None)
    if (
        case.headers
        and "If-Match" in case.headers
        and "If-Match" not in keep
        and data.draw(coin, label="etag")
    ):
        case.headers["If-Match"] = '"1"'


def refuses_outsiders(persona: str, cast: SimpleNamespace) -> CheckFunction:
    """A check that callers outside the cast's project learn nothing of it.

    Anonymous callers get 401 everywhere but the token exchange. The outsider (a member of
    another project only) gets 403/404 for every row of the cast's project named in the
    path, and no response to either of them quotes the project's texts."""
    desk = {(kind, pk) for kind, pks in cast.ids.items() for pk in pks}
    desk.discard(("projects", cast.other_project.pk))

    def refuses_outsiders(ctx: Any, response: Any, case: Any) -> None:
        status = response.status_code
        label = case.operation.label
        if persona == "anonymous":
            if label == TOKEN_OPERATION:
                assert not 200 <= status < 300, f"{label} issued a token for a made-up password"
            else:
                # 404 only where no URL pattern matches (e.g. a negative {number}): no view ran.
                routed = _routes(urlsplit(response.request.url).path)
                assert status == 401 or (status == 404 and not routed), (
                    f"anonymous {label} answered {status}, not 401"
                )
        elif persona == "outsider":
            pk = (case.path_parameters or {}).get("id")
            if (_kind(case), pk) in desk:
                assert status in (403, 404), f"outsider {label} on id {pk} answered {status}"
        else:
            return
        leaked = [text for text in PRIVATE_TEXT if text in response.text]
        assert not leaked, f"{persona} {label} answered {status} quoting {leaked}"

    return refuses_outsiders


def _routes(path: str) -> bool:
    return errors.routed(path)


def _auth(persona: str, cast: SimpleNamespace) -> dict[str, str]:
    """The persona's Authorization header; none for the anonymous caller."""
    if persona == "anonymous":
        return {}
    return {"Authorization": f"Token {api_token(getattr(cast, persona))}"}


@pytest.mark.parametrize(
    ("persona", "label"),
    [
        pytest.param(persona, label, id=f"{persona}-{label}")
        for persona in PERSONAS
        for label in OPERATIONS
    ],
)
def test_operation_conforms_to_the_schema(
    persona: str, label: str, cast: SimpleNamespace, app: DjangoWSGIApp, api_schema: Any
) -> None:
    make_user("newcomer")
    auth = _auth(persona, cast)
    checks = [*CHECKS, refuses_outsiders(persona, cast)]
    operation = api_schema.find_operation_by_label(label)
    assert operation is not None, f"{label} is not in the served schema"

    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,  # the same cases on every run: a gap never flickers
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(), data=st.data())
    def check(case: Any, data: st.DataObject) -> None:
        _bind(case, data, cast)
        app.errors.clear()
        # Each example runs in a savepoint that is rolled back: examples never see each
        # other's writes, and every one starts from the same rows.
        with transaction.atomic():
            response = case.call(base_url=BASE_URL, headers=auth)
            try:
                case.validate_response(response, checks=checks, headers=auth)
            except Exception as exc:
                for error in app.errors:
                    exc.add_note(error)
                raise
            transaction.set_rollback(True)

    gaps = (*SCHEMA_GAPS.get((persona, label), ()), *SCHEMA_GAPS.get(label, ()))
    try:
        check()
    except BaseException as error:
        explained = _known(error, gaps)
        if not explained:
            raise
        pytest.xfail(" | ".join(gap.reason for gap in explained))


# One fixed request per answer that must be documented; a known gap is a strict xfail.
# (label, persona or None for anonymous, claim for {id}, query, body, headers, gap)
DOCUMENTED_ANSWERS: list[tuple[str, str | None, str | None, dict, Any, dict, Gap | None]] = [
    ("GET /api/v1/claims/", None, None, {}, None, {}, None),
    ("GET /api/v1/claims/", "reviewer_a", None, {"status": "bogus"}, None, {}, None),
    ("GET /api/v1/claims/", "reviewer_a", None, {"cursor": "bogus"}, None, {}, None),
    ("GET /api/v1/documents/", "reviewer_a", None, {"project": "abc"}, None, {}, None),
    ("GET /api/v1/projects/", None, None, {}, None, {}, None),
    ("GET /api/v1/projects/", "reviewer_a", None, {"cursor": "bogus"}, None, {}, None),
    ("GET /api/v1/projects/{id}/", "admin", "project", {}, None, {}, None),
    ("GET /api/v1/documents/{id}/", "admin", "document", {}, None, {}, None),
    ("GET /api/v1/claims/{id}/verdicts/", "admin", "resolved", {}, None, {}, None),
    # reviewer_b's verdict on the resolved claim over again: 200, nothing written.
    (
        "POST /api/v1/claims/{id}/verdicts/",
        "reviewer_b",
        "resolved",
        {},
        {"rating": "false", "confidence": "high"},
        {},
        None,
    ),
    ("POST /api/v1/documents/", "editor", None, {}, "new document", {}, None),
    (
        "GET /api/v1/documents/{id}/export/",
        "admin",
        "document",
        {"format": "claimreview"},
        None,
        {},
        None,
    ),
    ("GET /api/v1/documents/{id}/export/", "admin", "document", {"format": "json"}, None, {}, None),
    ("GET /api/v1/projects/{id}/export/", "admin", "project", {}, None, {}, None),
    ("PATCH /api/v1/claims/{id}/", "creator", "open", {}, {"statement": "S"}, {}, None),
    (
        "PATCH /api/v1/claims/{id}/",
        "creator",
        "open",
        {},
        {"statement": "S"},
        {"If-Match": '"9"'},
        None,
    ),
    (
        "PATCH /api/v1/claims/{id}/",
        "creator",
        "open",
        {},
        {"statement": "S"},
        {"If-Match": "x"},
        None,
    ),
    ("GET /api/v1/claims/{id}/", "reviewer_a", "published", {}, None, {}, None),
    ("POST /api/v1/queue/next/", "creator", None, {}, "own project", {}, None),
    ("POST /api/v1/claims/{id}/release/", "reviewer_b", "open", {}, None, {}, None),
    ("POST /api/v1/claims/{id}/publish/", "reviewer_a", "resolved", {}, None, {}, None),
    ("POST /api/v1/auth/token/", None, None, {}, {"username": "admin", "password": "x"}, {}, None),
]


@pytest.mark.parametrize(
    "row",
    [
        pytest.param(
            row,
            marks=[pytest.mark.xfail(strict=True, reason=row[6].reason)] if row[6] else [],
            id=f"{row[0]}-{row[1]}-{i}",
        )
        for i, row in enumerate(DOCUMENTED_ANSWERS)
    ],
)
def test_known_answers_are_documented(
    row: tuple[Any, ...], cast: SimpleNamespace, api_schema: Any
) -> None:
    label, persona, target, query, body, headers, gap = row
    operation = api_schema.find_operation_by_label(label)
    headers = dict(headers)
    if persona is not None:
        headers["Authorization"] = f"Token {api_token(getattr(cast, persona))}"
    path_parameters = {"id": getattr(cast, target).pk} if target else {}
    if body == "new document":
        body = {"project": cast.project.pk, "title": "One", "text": "One document."}
    elif body == "own project":
        body = {"project": cast.project.pk}
    kwargs = {} if body is None else {"body": body, "media_type": "application/json"}
    case = operation.Case(path_parameters=path_parameters, query=query, headers=headers, **kwargs)
    response = case.call(base_url=BASE_URL)
    try:
        case.validate_response(response, checks=CHECKS)
    except BaseException as error:
        # A known gap must fail for its own reason, not for another one.
        if gap is not None:
            assert _known(error, [gap]), error
        raise


class TestSchemaDocument:
    def test_it_is_valid_openapi_3(self, db: None) -> None:
        response = _member_client().get(SCHEMA_URL, headers=SCHEMA_JSON)
        self.assertStatus(response, 200)
        document = json.loads(response.content)
        assert re.fullmatch(r"3\.\d+\.\d+", document["openapi"])
        validate_schema(document)  # the OAI JSON Schema for the declared version
        assert document["info"]["title"] == "Workbench API"

    def test_every_operation_has_a_documented_success_and_error_answer(self, db: None) -> None:
        document = json.loads(_member_client().get(SCHEMA_URL, headers=SCHEMA_JSON).content)
        for path, operations in document["paths"].items():
            for method, operation in operations.items():
                codes = set(operation["responses"])
                assert any(code.startswith("2") for code in codes), (method, path, codes)

    def test_the_docs_page_loads_nothing_from_a_cdn(self, db: None) -> None:
        client = _member_client()
        static_prefix = "/" + django_settings.STATIC_URL.lstrip("/")
        response = client.get("/api/docs/")
        self.assertStatus(response, 200)
        html = response.content.decode()
        for needle in ("cdn", "unpkg", "jsdelivr", "googleapis", "cloudflare"):
            assert needle not in html.lower(), needle
        # Every script, stylesheet and icon is local: a static file that exists in this
        # installation (the drf-spectacular sidecar) or a URL the app answers itself.
        assets = re.findall(r'(?:src|href)="([^"]+)"', html)
        assert len(assets) >= 3, html
        for asset in assets:
            assert asset.startswith("/") and not asset.startswith("//"), asset
            if asset.startswith(static_prefix):
                assert finders.find(asset.removeprefix(static_prefix)), asset
            else:
                assert client.get(asset).status_code == 200, asset

    @staticmethod
    def assertStatus(response: Any, status: int) -> None:
        assert response.status_code == status, response.content[:300]
