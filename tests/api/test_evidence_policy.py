"""The evidence policy through the API: project admins read and change it on
``/projects/{id}/`` (audited), and ``/claims/{id}/verdicts/`` refuses a verdict or a
revision that breaks it with 400 naming the rule, writing nothing."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from rest_framework.response import Response

from annotations import services
from annotations.models import Event, Project
from tests.api.base import ApiTestCase
from tests.factories import make_claim

QUOTED = {"url": "https://stats.example.org/crime", "quote": "fell 12%", "stance": "refutes"}
UNQUOTED = {"url": "https://stats.example.org/crime", "stance": "refutes"}
CONTEXT = {"url": "https://police.example.org/report", "quote": "new method", "stance": "context"}


class EvidencePolicyApiTests(ApiTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.claim = make_claim(document=cls.document, actor=cls.creator, exact="crime fell 20%")
        services.lease_next(reviewer=cls.reviewer_a, project=cls.project)

    @property
    def path(self) -> str:
        return f"/projects/{self.project.pk}/"

    def submit(self, user: AbstractBaseUser, *citations: dict[str, Any]) -> Response:
        body = {"rating": "false", "confidence": "high", "citations": list(citations)}
        return self.post(user, f"/claims/{self.claim.pk}/verdicts/", body)

    def set_policy(self, **policy: Any) -> None:
        services.project_update(project=self.project, actor=self.admin, **policy)

    def assertRefused(self, response: Response, *messages: str) -> None:
        self.assertEqual(response.status_code, 400, response.content)
        self.assertEqual(response.json(), {"citations": list(messages)})

    def test_the_project_shows_its_policy_and_the_defaults_refuse_nothing(self) -> None:
        body = self.get(self.reviewer_a, self.path).json()
        self.assertEqual(
            (body["min_citations"], body["quote_required"], body["allowed_stances"]),
            (0, False, ["supports", "refutes", "context"]),
        )
        response = self.submit(self.reviewer_a)
        self.assertEqual(response.status_code, 201, response.content)
        self.assertEqual(response.json()["citations"], [])

    def test_a_verdict_without_the_required_citation_is_refused(self) -> None:
        self.set_policy(min_citations=1)
        with self.assertNothingWritten():
            self.assertRefused(
                self.submit(self.reviewer_a),
                "This project's evidence policy requires at least 1 citation per verdict.",
            )
        self.assertEqual(self.submit(self.reviewer_a, UNQUOTED).status_code, 201)

    def test_a_citation_without_a_quote_is_refused(self) -> None:
        self.set_policy(quote_required=True)
        with self.assertNothingWritten():
            # Keyed by the citation's index from 0, as the API keys every list's items.
            response = self.submit(self.reviewer_a, QUOTED, UNQUOTED)
            self.assertEqual(response.status_code, 400, response.content)
            self.assertEqual(
                response.json(),
                {
                    "citations": {
                        "1": {
                            "quote": [
                                "This project's evidence policy requires a quote from the "
                                "source for every citation."
                            ]
                        }
                    }
                },
            )
        self.assertEqual(self.submit(self.reviewer_a, QUOTED).status_code, 201)

    def test_a_stance_the_project_does_not_allow_is_refused(self) -> None:
        self.set_policy(allowed_stances=["supports", "refutes"])
        with self.assertNothingWritten():
            response = self.submit(self.reviewer_a, CONTEXT)
            self.assertEqual(response.status_code, 400, response.content)
            self.assertEqual(
                response.json(),
                {
                    "citations": {
                        "0": {
                            "stance": [
                                "This project's evidence policy does not allow 'context' "
                                "citations; use supports or refutes."
                            ]
                        }
                    }
                },
            )
        self.assertEqual(self.submit(self.reviewer_a, QUOTED).status_code, 201)

    def test_a_revision_that_breaks_the_policy_is_refused(self) -> None:
        self.assertEqual(self.submit(self.reviewer_a, UNQUOTED).status_code, 201)
        self.set_policy(min_citations=1, quote_required=True, allowed_stances=["refutes"])
        for citations, message in (
            ((), "This project's evidence policy requires at least 1 citation per verdict."),
            ((UNQUOTED,), "{'0': {'quote': [\"This project's evidence policy requires a quote"),
            ((CONTEXT,), "{'0': {'stance': [\"This project's evidence policy does not allow"),
        ):
            with self.subTest(citations), self.assertNothingWritten():
                response = self.submit(self.reviewer_a, *citations)
                self.assertFieldError(response, "citations", message)
        revised = self.submit(self.reviewer_a, QUOTED)
        self.assertEqual((revised.status_code, revised.json()["revision"]), (201, 2))

    def test_project_admins_change_the_policy_and_it_is_audited(self) -> None:
        policy = {"min_citations": 1, "quote_required": True, "allowed_stances": ["refutes"]}
        for user in (self.editor, self.reviewer_a):
            with self.subTest(user.username), self.assertNothingWritten():
                self.assertEqual(self.patch(user, self.path, policy).status_code, 403)
        with self.assertNothingWritten():
            self.assertEqual(self.patch(self.outsider, self.path, policy).status_code, 404)
        response = self.patch(self.admin, self.path, policy)
        self.assertEqual(response.status_code, 200, response.content)
        body = response.json()
        self.assertEqual({k: body[k] for k in policy}, policy)
        event = Event.objects.filter(verb="project.update", object_id=self.project.pk).latest("id")
        self.assertEqual(event.actor, self.admin)
        self.assertEqual(
            ({k: event.before[k] for k in policy}, {k: event.after[k] for k in policy}),
            (
                {
                    "min_citations": 0,
                    "quote_required": False,
                    "allowed_stances": ["supports", "refutes", "context"],
                },
                policy,
            ),
        )

    def test_a_bad_policy_is_refused_naming_the_field(self) -> None:
        cases = [
            ({"min_citations": -1}, "min_citations"),
            ({"min_citations": 51}, "min_citations"),
            ({"min_citations": "two"}, "min_citations"),
            ({"quote_required": "often"}, "quote_required"),
            ({"allowed_stances": []}, "allowed_stances"),
            ({"allowed_stances": ["agrees"]}, "allowed_stances"),
            ({"allowed_stances": "supports"}, "allowed_stances"),
        ]
        for body, field in cases:
            with self.subTest(body), self.assertNothingWritten():
                self.assertFieldError(self.patch(self.admin, self.path, body), field)
        project = Project.objects.get(pk=self.project.pk)
        self.assertEqual(project.evidence_policy_summary, "")

    def test_a_project_is_created_with_a_policy(self) -> None:
        body = {
            "name": "Strict desk",
            "min_citations": 2,
            "quote_required": True,
            "allowed_stances": ["context", "supports"],
        }
        response = self.post(self.admin, "/projects/", body)
        self.assertEqual(response.status_code, 201, response.content)
        self.assertEqual(response.json()["allowed_stances"], ["supports", "context"])
        project = Project.objects.get(slug="strict-desk")
        self.assertEqual(
            (project.min_citations, project.quote_required, project.allowed_stances),
            (2, True, "supports,context"),
        )

    def test_verdicts_written_before_a_stricter_policy_stay_readable(self) -> None:
        self.assertEqual(self.submit(self.reviewer_a).status_code, 201)
        self.set_policy(min_citations=1)
        response = self.get(self.reviewer_a, f"/claims/{self.claim.pk}/verdicts/")
        self.assertEqual(response.status_code, 200)
        self.assertEqual([v["citations"] for v in response.json()], [[]])
