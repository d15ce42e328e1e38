"""The review queue, verdicts under blind review, and the editors' decisions."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
)
from rest_framework import status
from rest_framework.exceptions import APIException
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotations import access, selectors, services
from annotations.access import User
from annotations.api import serializers as s
from annotations.api.idempotency import idempotent
from annotations.api.query import BOOLEAN_VALUES, bool_param
from annotations.api.views._common import (
    ERRORS,
    claim_reloaded,
    etag,
    parse_body,
    project_unknown,
)
from annotations.models import Assignment, Claim, Role


class QueueNextApi(APIView):
    @extend_schema(
        request=s.QueueNextSerializer,
        responses={
            200: s.LeaseSerializer,
            204: OpenApiResponse(description="Nothing to review"),
            **ERRORS,
        },
    )
    def post(self, request: Request) -> Response:
        data = parse_body(s.QueueNextSerializer, request)
        # The service looks the project up with the membership it locks (one statement):
        # a non-member's request ends there, with nothing written, as project_from_body's.
        try:
            assignment = services.lease_next(reviewer=request.user, project_id=data["project"])
        except Http404:
            raise project_unknown(data["project"]) from None
        if assignment is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return _lease_answer(assignment, request.user)


class ClaimReleaseApi(APIView):
    @extend_schema(
        request=None, responses={204: None, 409: OpenApiResponse(description="No lease"), **ERRORS}
    )
    def post(self, request: Request, pk: int) -> Response:
        claim, _ = access.claim_get_for_user(user=request.user, pk=pk)
        parse_body(s.NoBodySerializer, request)
        services.lease_release(claim=claim, reviewer=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ClaimSkipApi(APIView):
    @extend_schema(
        request=s.ReasonSerializer,
        responses={204: None, 409: OpenApiResponse(description="Conflict"), **ERRORS},
    )
    def post(self, request: Request, pk: int) -> Response:
        claim, _ = access.claim_get_for_user(user=request.user, pk=pk)
        data = parse_body(s.ReasonSerializer, request)
        services.claim_skip(claim=claim, reviewer=request.user, reason=data["reason"])
        return Response(status=status.HTTP_204_NO_CONTENT)


class ClaimVerdictsApi(APIView):
    query_params = {"GET": ("history",)}

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "history", bool, description=f"Include superseded revisions: {BOOLEAN_VALUES}."
            )
        ],
        responses={200: s.VerdictSerializer(many=True), **ERRORS},
        description="Verdicts on the claim that you may see: blind review shows a reviewer only their "
        "own until they have submitted; editors and admins see all.",
    )
    def get(self, request: Request, pk: int) -> Response:
        claim, membership = access.claim_get_for_user(user=request.user, pk=pk)
        history = bool_param(request, "history") or False
        verdicts = selectors.verdicts_visible_to(
            user=request.user, claim=claim, membership=membership, include_history=history
        )
        return Response(s.VerdictSerializer(verdicts, many=True).data)

    @idempotent
    @extend_schema(
        request=s.VerdictCreateSerializer,
        responses={
            201: s.VerdictSerializer,
            200: OpenApiResponse(
                s.VerdictSerializer,
                description="The same verdict over again: your current verdict on the "
                "claim's current version already has this content, so nothing is written "
                "and it is answered as it is",
            ),
            409: OpenApiResponse(description="No lease, or closed"),
            **ERRORS,
        },
        description="A first verdict (needs your lease) or a revision of yours. Posting "
        "exactly your current verdict again (the same rating, confidence, rationale and "
        "citations, in the same order: a double click, a request sent twice) writes "
        "nothing: 200 with that verdict, whatever the claim's status (the evidence policy "
        "still applies: 400 for one recorded before the policy asked for more). The "
        "citations must meet the project's evidence policy (`min_citations`, "
        "`quote_required`, `allowed_stances` on the project): otherwise 400 on `citations`, "
        "one message per broken rule, and nothing is written. A citation at fault is keyed "
        'by its index in the list sent, from 0, as every list\'s items are: `{"citations": '
        '{"1": {"quote": ["…"]}}}`; a rule on them all (the minimum) is a message in a list, '
        'or under `"non_field_errors"` beside citations at fault.',
    )
    def post(self, request: Request, pk: int) -> Response:
        # The service looks the claim up with the reviewer's membership in the statement
        # that locks it (Http404 for a non-member, before anything is written). A body
        # refused here (unreadable, unsupported, invalid) is refused only once the claim is
        # known to be theirs: a non-member's answer is the 404 whatever the body.
        try:
            data = parse_body(s.VerdictCreateSerializer, request)
        except APIException:
            access.claim_get_for_user(user=request.user, pk=pk)
            raise
        citations = [
            services.CitationInput(
                stance=c["stance"],
                url=c.get("url") or "",
                source_id=c.get("source"),
                quote=c.get("quote", ""),
            )
            for c in data.get("citations", [])
        ]
        verdict, written = services.verdict_submit_as_member(
            reviewer=request.user,
            claim_id=pk,
            rating=data["rating"],
            confidence=data["confidence"],
            rationale=data.get("rationale", ""),
            citations=citations,
        )
        return Response(
            s.verdict_data(verdict),
            status=status.HTTP_201_CREATED if written else status.HTTP_200_OK,
        )


class ClaimConsensusApi(APIView):
    @extend_schema(responses={200: s.ConsensusSerializer(many=True), **ERRORS})
    def get(self, request: Request, pk: int) -> Response:
        claim, membership = access.claim_get_for_user(user=request.user, pk=pk)
        return Response(
            s.ConsensusSerializer(
                selectors.consensus_history_for(
                    claim=claim, user=request.user, membership=membership
                ),
                many=True,
            ).data
        )


class ClaimAdjudicateApi(APIView):
    @idempotent
    @extend_schema(
        request=s.AdjudicateSerializer,
        responses={
            201: s.ConsensusSerializer,
            409: OpenApiResponse(description="Not disputed"),
            **ERRORS,
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        claim, _ = access.claim_get_for_user(user=request.user, pk=pk, role=Role.EDITOR)
        data = parse_body(s.AdjudicateSerializer, request)
        record = services.claim_adjudicate(
            claim=claim, editor=request.user, rating=data["rating"], note=data["note"]
        )
        return Response(s.ConsensusSerializer(record).data, status=status.HTTP_201_CREATED)


class ClaimReopenApi(APIView):
    @extend_schema(
        request=s.NoteSerializer,
        responses={200: s.ClaimSerializer, 409: OpenApiResponse(), **ERRORS},
    )
    def post(self, request: Request, pk: int) -> Response:
        claim, _ = access.claim_get_for_user(user=request.user, pk=pk, role=Role.EDITOR)
        data = parse_body(s.NoteSerializer, request)
        claim = services.claim_reopen(claim=claim, editor=request.user, note=data["note"])
        return Response(
            s.claim_data(claim_reloaded(claim, request.user)),
            headers={"ETag": etag(claim)},
        )


class ClaimPublishApi(APIView):
    @idempotent
    @extend_schema(
        request=s.PublishSerializer,
        responses={
            201: s.PublicationSerializer,
            409: OpenApiResponse(description="Not resolved"),
            **ERRORS,
        },
        description="Editors: publish a resolved claim. Writes version 1 of its publication "
        "(immutable): the statement, claimant, rating, your `summary` for readers (required), "
        "the citations and the appearance. The claim then appears in the ClaimReview export "
        "and, when the project publishes, on its public pages and feeds.",
    )
    def post(self, request: Request, pk: int) -> Response:
        claim, _ = access.claim_get_for_user(user=request.user, pk=pk, role=Role.EDITOR)
        data = parse_body(s.PublishSerializer, request)
        version = services.claim_publish(claim=claim, editor=request.user, summary=data["summary"])
        return Response(s.PublicationSerializer(version).data, status=status.HTTP_201_CREATED)


class ClaimCorrectApi(APIView):
    @idempotent
    @extend_schema(
        request=s.CorrectSerializer,
        responses={
            201: s.PublicationSerializer,
            409: OpenApiResponse(description="Not published or corrected"),
            **ERRORS,
        },
        description="Editors: correct a published fact check. A new version with a public "
        "`note` (required) and at least one change: a new `rating`, `statement`, `claimant` or "
        "`summary` (the rest is carried over). A new rating is also recorded as the claim's "
        "consensus (method `correction`). Earlier versions stay readable.",
    )
    def post(self, request: Request, pk: int) -> Response:
        claim, _ = access.claim_get_for_user(user=request.user, pk=pk, role=Role.EDITOR)
        data = parse_body(s.CorrectSerializer, request)
        version = services.claim_correct(claim=claim, editor=request.user, **data)
        return Response(s.PublicationSerializer(version).data, status=status.HTTP_201_CREATED)


class ClaimRetractApi(APIView):
    @idempotent
    @extend_schema(
        request=s.RetractSerializer,
        responses={
            201: s.PublicationSerializer,
            409: OpenApiResponse(description="Not published or corrected"),
            **ERRORS,
        },
        description="Editors: retract a published fact check (final). A last version with "
        "the public `note` (required): the fact check leaves the feed and the ClaimReview "
        "export; its public page stays and says it was retracted and why.",
    )
    def post(self, request: Request, pk: int) -> Response:
        claim, _ = access.claim_get_for_user(user=request.user, pk=pk, role=Role.EDITOR)
        data = parse_body(s.RetractSerializer, request)
        version = services.claim_retract(claim=claim, editor=request.user, note=data["note"])
        return Response(s.PublicationSerializer(version).data, status=status.HTTP_201_CREATED)


class ClaimPublicationsApi(APIView):
    pagination_class = None

    @extend_schema(
        responses={200: s.PublicationSerializer(many=True), **ERRORS},
        description="Every publication version of the claim, oldest first (members).",
    )
    def get(self, request: Request, pk: int) -> Response:
        claim, _ = access.claim_get_for_user(user=request.user, pk=pk)
        versions = selectors.publications_of_claim(claim=claim)
        return Response(s.PublicationSerializer(versions, many=True).data)


class ClaimWithdrawApi(APIView):
    @extend_schema(
        request=s.ReasonSerializer,
        responses={200: s.ClaimSerializer, 409: OpenApiResponse(), **ERRORS},
    )
    def post(self, request: Request, pk: int) -> Response:
        claim, _ = access.claim_get_for_user(user=request.user, pk=pk)
        data = parse_body(s.ReasonSerializer, request)
        claim = services.claim_withdraw(claim=claim, actor=request.user, reason=data["reason"])
        return Response(
            s.claim_data(claim_reloaded(claim, request.user)),
            headers={"ETag": etag(claim)},
        )


# --- directing the queue: take a claim, assign reviewers, priority and deadline ---------------


def _lease_answer(assignment: Assignment, user: User) -> Response:
    """The lease representation of ``queue/next`` and ``claims/{id}/lease``: the claim as
    ``user`` is shown it (a gold claim as an ordinary one in review). The services return
    the lease with its claim and the claim's creator loaded (under the claim's or the
    lease's lock), so the claim is not read again."""
    (claim,) = selectors.loaded_claims_presented([assignment.claim], user=user)
    return Response({"claim": s.claim_data(claim), "lease_expires_at": assignment.expires_at})


class ClaimLeaseApi(APIView):
    @extend_schema(
        request=None,
        responses={
            200: s.LeaseSerializer,
            409: OpenApiResponse(
                description="Not eligible, with the reason: not in review, your own claim, "
                "already judged or skipped by you, no free slot, or you hold a lease on "
                "another claim of the project"
            ),
            **ERRORS,
        },
        description="Take this claim for review (review from the claim page): the queue's "
        "eligibility and locking, for one chosen claim. Holding a live lease on it already "
        "returns that lease.",
    )
    def post(self, request: Request, pk: int) -> Response:
        claim, _ = access.claim_get_for_user(user=request.user, pk=pk, role=Role.REVIEWER)
        parse_body(s.NoBodySerializer, request)
        return _lease_answer(services.lease_claim(reviewer=request.user, claim=claim), request.user)


def _reservations(claim: Claim) -> Response:
    return Response(
        s.ReservationSerializer(selectors.reservations_of_claim(claim=claim), many=True).data
    )


class ClaimAssignApi(APIView):
    @extend_schema(
        responses={200: s.ReservationSerializer(many=True), **ERRORS},
        description="Editors: the reviewers a slot of this claim is reserved for.",
    )
    def get(self, request: Request, pk: int) -> Response:
        claim, _ = access.claim_get_for_user(user=request.user, pk=pk, role=Role.EDITOR)
        return _reservations(claim)

    @extend_schema(
        request=s.ClaimAssignSerializer,
        responses={
            200: s.ReservationSerializer(many=True),
            409: OpenApiResponse(description="Not in review, or more reviewers than free slots"),
            **ERRORS,
        },
        description="Editors: reserve a review slot for each named reviewer (counted against "
        "the project's required_reviews; their queue offers the claim first). Reviewers "
        "already assigned stay as they are. 400 on `reviewers` names each username that is "
        "unknown, not a member, the claim's creator, or has judged or skipped the claim.",
    )
    def post(self, request: Request, pk: int) -> Response:
        claim, _ = access.claim_get_for_user(user=request.user, pk=pk, role=Role.EDITOR)
        data = parse_body(s.ClaimAssignSerializer, request)
        services.claim_assign(claim=claim, editor=request.user, usernames=data["reviewers"])
        return _reservations(claim)


class ClaimUnassignApi(APIView):
    @extend_schema(
        request=None,
        responses={
            204: None,
            409: OpenApiResponse(description="Not in review"),
            **ERRORS,
        },
        description="Editors: free the slot reserved for this reviewer (404 when they are "
        "not assigned). A lease they already hold stays theirs.",
    )
    def delete(self, request: Request, pk: int, username: str) -> Response:
        claim, _ = access.claim_get_for_user(user=request.user, pk=pk, role=Role.EDITOR)
        parse_body(s.NoBodySerializer, request)
        services.claim_unassign(claim=claim, editor=request.user, username=username)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ClaimScheduleApi(APIView):
    @extend_schema(
        request=s.ClaimScheduleSerializer,
        responses={200: s.ClaimSerializer, **ERRORS},
        description="Editors: set the claim's priority (`urgent`, `high`, `normal`, `low`) "
        "and deadline (`due_at`, null clears it). No If-Match: the claim's version (its "
        "text) does not change.",
    )
    def patch(self, request: Request, pk: int) -> Response:
        claim, _ = access.claim_get_for_user(user=request.user, pk=pk, role=Role.EDITOR)
        data = parse_body(s.ClaimScheduleSerializer, request)
        services.claim_schedule(claim=claim, actor=request.user, **data)
        return Response(s.claim_data(claim_reloaded(claim, request.user)))
