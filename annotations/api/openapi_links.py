"""OpenAPI links: which value of one answer fills which input of a follow-up call.

drf-spectacular has no declaration for links, so ``add_links`` adds them to the generated
document as a postprocessing hook (``SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]``). Clients
read them as documentation; the stateful contract test (``tests/api/test_stateful.py``)
follows them to chain real calls. schemathesis infers the plain ``{id}`` follow-ups (a
created claim → ``GET /claims/{id}/``) on its own; declared here are the ones it cannot
guess: ids that go into a request body or a filter, and a claim's version as the
``If-Match`` of an edit.
"""

from __future__ import annotations

import copy
from typing import Any

Link = dict[str, Any]  # an OpenAPI Link Object


def _project_follow_ups(project: str) -> dict[str, Link]:
    return {
        "AddDocument": {
            "operationId": "v1_documents_create",
            "requestBody": {"project": project},
            "description": "Add a document to this project (editors).",
        },
        "NextInQueue": {
            "operationId": "v1_queue_next_create",
            "requestBody": {"project": project},
            "description": "Lease the next claim of this project to review.",
        },
        "ListDocuments": {
            "operationId": "v1_documents_list",
            "parameters": {"query.project": project},
        },
        "ListClaims": {"operationId": "v1_claims_list", "parameters": {"query.project": project}},
    }


def _document_follow_ups(document: str) -> dict[str, Link]:
    return {
        "AddClaim": {
            "operationId": "v1_claims_create",
            "requestBody": {"document": document},
            "description": "Mark a claim in this document.",
        },
        "ListDocumentClaims": {
            "operationId": "v1_claims_list",
            "parameters": {"query.document": document},
        },
    }


def _claim_follow_ups(claim: str) -> dict[str, Link]:
    """``claim`` points at a claim object of the answer ("" for the whole body)."""
    return {
        "EditClaim": {
            "operationId": "v1_claims_partial_update",
            "parameters": {
                "path.id": f"$response.body#{claim}/id",
                # The claim's ETag, exactly as GET /claims/{id}/ sends it.
                "header.If-Match": f'"{{$response.body#{claim}/version}}"',
            },
            "description": "Edit the claim at the version just read (optimistic locking).",
        },
        "ReviseClaim": {
            "operationId": "v1_claims_revise_create",
            "parameters": {
                "path.id": f"$response.body#{claim}/id",
                "header.If-Match": f'"{{$response.body#{claim}/version}}"',
            },
            "description": "Revise the judged claim at the version just read (editors).",
        },
    }


def _verdict_follow_ups(claim: str) -> dict[str, Link]:
    """``claim`` points at the claim id of a verdict."""
    return {
        name: {"operationId": operation_id, "parameters": {"path.id": claim}}
        for name, operation_id in (
            ("Claim", "v1_claims_retrieve"),
            ("ClaimVerdicts", "v1_claims_verdicts_list"),
            ("ClaimConsensus", "v1_claims_consensus_list"),
            ("Adjudicate", "v1_claims_adjudicate_create"),
            ("Publish", "v1_claims_publish_create"),
        )
    }


def _publication_follow_ups(claim: str) -> dict[str, Link]:
    """``claim`` points at the claim id of a publication version."""
    return {
        name: {"operationId": operation_id, "parameters": {"path.id": claim}}
        for name, operation_id in (
            ("Claim", "v1_claims_retrieve"),
            ("ClaimPublications", "v1_claims_publications_list"),
            ("Correct", "v1_claims_correct_create"),
            ("Retract", "v1_claims_retract_create"),
        )
    }


FIRST = "$response.body#/results/0/id"
LINKS: dict[tuple[str, str], dict[str, Link]] = {
    ("v1_projects_create", "201"): _project_follow_ups("$response.body#/id"),
    ("v1_projects_retrieve", "200"): _project_follow_ups("$response.body#/id"),
    ("v1_projects_list", "200"): _project_follow_ups(FIRST),
    ("v1_documents_create", "201"): _document_follow_ups("$response.body#/id"),
    ("v1_documents_import_create", "201"): _document_follow_ups("$response.body#/id"),
    ("v1_documents_retrieve", "200"): _document_follow_ups("$response.body#/id"),
    ("v1_documents_list", "200"): _document_follow_ups(FIRST),
    **{
        (operation_id, status): _claim_follow_ups("")
        for operation_id, status in (
            ("v1_claims_create", "201"),
            ("v1_claims_retrieve", "200"),
            ("v1_claims_partial_update", "200"),
            ("v1_claims_reopen_create", "200"),
            ("v1_claims_withdraw_create", "200"),
            ("v1_claims_reanchor_create", "200"),
        )
    },
    ("v1_queue_next_create", "200"): _claim_follow_ups("/claim"),
    **{
        # 201: the verdict written; 200: the same verdict over again, answered unchanged.
        ("v1_claims_verdicts_create", status): _verdict_follow_ups("$response.body#/claim")
        for status in ("201", "200")
    },
    **{
        (operation_id, "201"): _publication_follow_ups("$response.body#/claim")
        for operation_id in ("v1_claims_publish_create", "v1_claims_correct_create")
    },
}


def add_links(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: add ``LINKS`` to the answers they start from.

    A link whose source or target is not in this document (a filtered schema) is left out."""
    operations = {
        operation["operationId"]: operation
        for path in result.get("paths", {}).values()
        for operation in path.values()
        if isinstance(operation, dict) and "operationId" in operation
    }
    for (operation_id, status), links in LINKS.items():
        response = operations.get(operation_id, {}).get("responses", {}).get(status)
        if response is None:
            continue
        present = {name: link for name, link in links.items() if link["operationId"] in operations}
        if present:
            response.setdefault("links", {}).update(copy.deepcopy(present))
    return result
