"""Security headers on every kind of response, the CSP, and htmx hardening (B.6 #18, #19, #20).

Pages, htmx fragments, the admin, API JSON and API errors, the 403/404/500 pages and
static files: an enforced (not report-only) Content-Security-Policy whose script-src has
no ``unsafe-inline``/``unsafe-eval`` and carries the nonce the page's scripts use,
``frame-ancestors 'none'`` plus ``X-Frame-Options: DENY`` (clickjacking), ``nosniff``,
``Referrer-Policy``. Pages have no inline script, no inline event handler and no inline
style. htmx runs with ``allowEval`` and ``allowScriptTags`` off, and the vendored htmx is
major version 2, where ``hx-headers`` on ``<body>`` is inherited (htmx 4 changed that and
the meaning of ``hx-disable``), so an upgrade must fail here first.
"""

from __future__ import annotations

import json
import logging
import re

import django_htmx
import lxml.html
from django.contrib.staticfiles import finders
from django.http import HttpRequest, HttpResponse
from django.test import Client, TestCase, override_settings
from django.urls import include
from django.urls import path as route

from tests.security.world import API, World


def boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("deliberate failure for the 500 page")


urlpatterns = [route("boom/", boom), route("", include("workbench.urls"))]


def csp(response: HttpResponse) -> dict[str, list[str]]:
    header = response.get("Content-Security-Policy", "")
    directives: dict[str, list[str]] = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives[words[0]] = words[1:]
    return directives


class HeaderTests(World, TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_world()
        cls.root = type(cls.admin).objects.create_superuser("root", password="pw-root")

    def responses(self) -> dict[str, HttpResponse]:
        a, root, anonymous = (
            self.browser(self.reviewer_a),
            self.browser(self.root),
            self.browser(),
        )
        csrf_client = self.browser(self.reviewer_a, csrf=True)
        api = self.api(self.reviewer_a)
        claim = f"/claims/{self.blind.pk}/"
        out = {
            "page": a.get("/"),
            "claim page": a.get(claim),
            "htmx fragment": a.get(claim, HTTP_HX_REQUEST="true"),
            "htmx list fragment": a.get(
                f"/projects/{self.project.slug}/documents/", HTTP_HX_REQUEST="true"
            ),
            "login": anonymous.get("/accounts/login/"),
            "redirect": anonymous.get(claim),
            "admin index": root.get("/admin/"),
            "admin change": root.get(f"/admin/annotations/claim/{self.blind.pk}/change/"),
            "admin login": anonymous.get("/admin/login/"),
            "api json": api.get(f"{API}/claims/"),
            "api 401": self.api(None).get(f"{API}/claims/"),
            "api 404": api.get(f"{API}/claims/987654321/"),
            "api export": api.get(f"{API}/documents/{self.document.pk}/export/"),
            "api docs": a.get("/api/docs/"),
            "404 page": a.get("/no/such/page/"),
            "403 page": a.get(f"/projects/{self.project.slug}/disputes/"),
            "csrf 403": csrf_client.post(claim + "edit/", {}),
        }
        with override_settings(ROOT_URLCONF=__name__):
            client = Client(raise_request_exception=False)
            out["500 page"] = client.get("/boom/")
        return out

    def test_every_response_type_carries_the_security_headers(self) -> None:
        responses = self.responses()
        self.assertEqual(responses["500 page"].status_code, 500)
        self.assertEqual(responses["404 page"].status_code, 404)
        self.assertEqual(responses["csrf 403"].status_code, 403)
        for name, response in responses.items():
            with self.subTest(response=name):
                self.assertEqual(response["X-Frame-Options"], "DENY")
                self.assertEqual(response["X-Content-Type-Options"], "nosniff")
                self.assertEqual(response["Referrer-Policy"], "same-origin")
                self.assertNotIn("Content-Security-Policy-Report-Only", response)
                policy = csp(response)
                self.assertEqual(policy.get("frame-ancestors"), ["'none'"])
                self.assertEqual(policy.get("object-src"), ["'none'"])
                self.assertEqual(policy.get("base-uri"), ["'none'"])
                self.assertEqual(policy.get("default-src"), ["'self'"])
                scripts = policy.get("script-src", [])
                self.assertIn("'self'", scripts)
                for weak in ("'unsafe-inline'", "'unsafe-eval'", "*", "data:", "http:", "https:"):
                    self.assertNotIn(weak, scripts)
                    self.assertNotIn(weak, policy.get("style-src", []))

    def test_html_pages_run_only_scripts_the_policy_allows(self) -> None:
        responses = self.responses()
        html = {
            name: r
            for name, r in responses.items()
            if r.get("Content-Type", "").startswith("text/html") and r.content.strip()
        }
        self.assertGreaterEqual(len(html), 10)
        for name, response in html.items():
            with self.subTest(response=name):
                nonces = [w[7:-1] for w in csp(response)["script-src"] if w.startswith("'nonce-")]
                tree = lxml.html.fromstring(response.content)
                for script in tree.iter("script"):
                    if script.get("type") == "application/json":
                        continue  # data, never executed
                    self.assertTrue(script.get("src"), f"inline script in {name}")
                    self.assertTrue(script.get("src").startswith("/"), script.get("src"))
                    if script.get("nonce"):
                        self.assertIn(script.get("nonce"), nonces)
                for element in tree.iter():
                    if not isinstance(element.tag, str):
                        continue
                    handlers = [a for a in element.attrib if a.startswith("on")]
                    self.assertEqual(handlers, [], f"inline handler in {name}")
                    if not name.startswith("admin"):
                        self.assertIsNone(element.get("style"), f"inline style in {name}")

    def test_the_htmx_script_uses_the_page_nonce(self) -> None:
        response = self.browser(self.reviewer_a).get("/")
        [nonce] = [w[7:-1] for w in csp(response)["script-src"] if w.startswith("'nonce-")]
        tree = lxml.html.fromstring(response.content)
        [htmx] = [s for s in tree.iter("script") if "htmx" in (s.get("src") or "")]
        self.assertEqual(htmx.get("nonce"), nonce)

    def test_static_files_are_served_with_nosniff(self) -> None:
        response = self.browser().get("/static/workbench/workbench.css")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response["X-Content-Type-Options"], "nosniff")
        self.assertEqual(response["Referrer-Policy"], "same-origin")

    def test_signed_in_pages_are_not_cached_and_fragments_vary_on_htmx(self) -> None:
        client = self.browser(self.reviewer_a)
        for path in ("/", f"/claims/{self.blind.pk}/", f"{API}/claims/"):
            with self.subTest(path=path):
                response = client.get(path)
                self.assertIn("no-store", response["Cache-Control"])
                self.assertIn("private", response["Cache-Control"])
        response = client.get(f"/claims/{self.blind.pk}/", HTTP_HX_REQUEST="true")
        self.assertIn("HX-Request", response["Vary"])


class HtmxHardeningTests(World, TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_world()

    def test_htmx_config_disables_eval_and_script_tags(self) -> None:
        tree = lxml.html.fromstring(self.browser(self.reviewer_a).get("/").content)
        [meta] = tree.xpath("//meta[@name='htmx-config']")
        config = json.loads(meta.get("content"))
        self.assertIs(config["allowEval"], False)
        self.assertIs(config["allowScriptTags"], False)
        self.assertIs(config["selfRequestsOnly"], True)
        self.assertEqual(config["historyCacheSize"], 0)
        # CSP style-src 'self': htmx writes no inline style (no indicator <style>, and
        # settling never sets a style attribute).
        self.assertIs(config["includeIndicatorStyles"], False)
        self.assertNotIn("style", config["attributesToSettle"])

    def test_the_vendored_htmx_is_major_version_2(self) -> None:
        tree = lxml.html.fromstring(self.browser(self.reviewer_a).get("/").content)
        sources = [s.get("src") for s in tree.iter("script") if "htmx" in (s.get("src") or "")]
        self.assertEqual(sources, ["/static/django_htmx/htmx-2.min.js"])
        found = finders.find("django_htmx/htmx-2.min.js")
        self.assertIsNotNone(found)
        with open(found, encoding="utf-8") as handle:
            version = re.search(r"version:\s*['\"](\d+)\.(\d+)\.(\d+)['\"]", handle.read())
        self.assertIsNotNone(version)
        self.assertEqual(version.group(1), "2", "htmx 4 changes hx-headers inheritance")
        self.assertTrue(django_htmx.__name__)

    def test_injected_htmx_attributes_in_user_content_are_inert(self) -> None:
        payload = (
            '<div hx-post="/api/v1/queue/next/" hx-trigger="load">a</div>'
            '<b data-hx-get="/accounts/logout/" hx-on:click="x()">b</b>'
        )
        from annotations import services

        # The claim has verdicts: an editor revises it (what was judged is frozen in place).
        services.claim_revise(
            claim=self.blind,
            actor=self.editor,
            expected_version=self.blind.version,
            statement=payload,
            claimant=payload[:200],
        )
        for path in (f"/claims/{self.blind.pk}/", self.document.get_absolute_url()):
            for headers in ({}, {"HTTP_HX_REQUEST": "true"}):
                with self.subTest(path=path, htmx=bool(headers)):
                    response = self.browser(self.reviewer_a).get(path, **headers)
                    tree = lxml.html.fromstring(response.content)
                    for element in tree.iter():
                        if not isinstance(element.tag, str):
                            continue
                        for attribute, value in element.attrib.items():
                            if attribute.startswith(("hx-", "data-hx-")):
                                self.assertNotIn("queue/next", value)
                                self.assertNotIn("logout", value)
                                self.assertNotEqual(value, "load")
                                self.assertNotEqual(attribute, "hx-on:click")
                    if not headers:  # the claim's fragment is the review panel, without it
                        self.assertContains(response, "&lt;div hx-post=")


class DisallowedHostLogTests(TestCase):
    """A Host header not in ALLOWED_HOSTS: a 400, and one WARNING line on
    ``django.security.DisallowedHost`` naming the host, without a traceback."""

    def test_a_bad_host_is_a_400_logged_in_one_line_without_a_traceback(self) -> None:
        for path in ("/", f"{API}/projects/", "/admin/"):
            with (
                self.subTest(path=path),
                self.assertLogs("django.security.DisallowedHost", "DEBUG") as logs,
            ):
                response = Client(HTTP_HOST="evil.example").get(path)
                self.assertEqual(response.status_code, 400)
                [record] = logs.records
                self.assertEqual(record.levelname, "WARNING")
                self.assertIsNone(record.exc_info)
                self.assertIsNone(record.exc_text)
                self.assertIn("'evil.example'", record.getMessage())
                line = logging.Formatter("%(levelname)s %(name)s %(message)s").format(record)
                self.assertNotIn("\n", line)
                self.assertNotIn("Traceback", line)

    def test_a_host_with_a_line_break_stays_one_line(self) -> None:
        with self.assertLogs("django.security.DisallowedHost", "DEBUG") as logs:
            response = Client(HTTP_HOST="evil.example\nforged: line").get("/")
        self.assertEqual(response.status_code, 400)
        self.assertEqual(len(logs.output), 1)
        self.assertNotIn("\n", logs.output[0])
