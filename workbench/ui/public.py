"""Public fact-check pages and feeds (no sign-in): ``/fact-checks/<project-slug>/...``.

Only projects with ``publishing_enabled`` answer, and only from publication versions
(``selectors.publishing``): a claim that was never published, another project's claim and
a project that does not publish are one and the same 404. Nothing here reads the session
or shows who reviewed what; answers are cacheable by anyone (``Cache-Control: public``).

The ClaimReview JSON-LD sits in a ``<script type="application/ld+json">`` data block,
serialized by ``export_mapping.json_dumps_safe`` (``<``, ``>`` and ``&`` escaped), so no
field can end the element; a data block is never executed, and the CSP still allows no
inline script.
"""

from __future__ import annotations

from typing import Any

from django.contrib.syndication.views import Feed as SyndicationFeed
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.cache import get_conditional_response
from django.utils.feedgenerator import Atom1Feed
from django.utils.html import escape
from django.utils.http import http_date, parse_http_date
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_safe

from annotations import selectors
from annotations.core import export_mapping, publishing
from annotations.models import Project, Publication

PAGE_SIZE = 20
PUBLIC_CACHE = "public, max-age=60"


def _base(request: HttpRequest) -> str:
    return selectors.public_base(f"{request.scheme}://{request.get_host()}")


def _public(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = PUBLIC_CACHE
    return response


@require_safe
def factcheck_list(request: HttpRequest, slug: str) -> HttpResponse:
    project = selectors.public_project_get(slug=slug)
    page = Paginator(selectors.public_claims(project=project), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    entries = selectors.public_entries(claim_ids=[claim.pk for claim in page.object_list])
    context = {"project": project, "page": page, "entries": entries}
    return _public(render(request, "workbench/public/factcheck_list.html", context))


@require_safe
def factcheck_detail(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    project = selectors.public_project_get(slug=slug)
    versions = selectors.public_versions_get(project=project, claim_id=pk)
    node = selectors.public_claimreview(project=project, versions=versions, base=_base(request))
    context = {
        "project": project,
        "latest": versions[-1],
        "first": versions[0],
        "versions": list(reversed(versions)),
        "retracted": versions[-1].kind == "retract",
        # json_dumps_safe escapes <, > and &: the text cannot close the <script> element.
        "jsonld": mark_safe(export_mapping.json_dumps_safe(node)) if node else "",  # noqa: S308
    }
    return _public(render(request, "workbench/public/factcheck_detail.html", context))


@require_safe
def feed_json(request: HttpRequest, slug: str) -> HttpResponse:
    """The DataFeed now, or with ``?at=<ISO 8601 instant>`` as it stood then (byte for byte
    what was served at that instant). ETag and Last-Modified; 304 on a conditional GET."""
    project = selectors.public_project_get(slug=slug)
    at = None
    if "at" in request.GET:
        try:
            at = publishing.parse_instant(request.GET["at"])
        except ValueError as exc:
            return JsonResponse({"at": [str(exc)]}, status=400)
        if at > timezone.now():
            # The feed of a future instant is not known yet: answering today's feed for
            # it would break "byte for byte as it stood then".
            return JsonResponse({"at": ["This instant is in the future."]}, status=400)
    feed = selectors.project_feed(project=project, at=at, base=_base(request))
    etag = f'"{publishing.body_digest(feed.body)}"'
    # HTTP dates have whole seconds: the version times are compared at that precision.
    last_modified = int(feed.last_modified.timestamp()) if feed.last_modified else None
    conditional = get_conditional_response(request, etag=etag, last_modified=last_modified)
    response = conditional or HttpResponse(feed.body, content_type="application/ld+json")
    response["ETag"] = etag
    if last_modified is not None:
        response["Last-Modified"] = http_date(last_modified)
    return _public(response)


@require_safe
def feed_atom(request: HttpRequest, slug: str) -> HttpResponse:
    """The Atom feed, with an ETag and Last-Modified (the project's last publication
    change, a retraction included); 304 on a conditional GET, as ``feed.json``."""
    # One feed object per request: it holds the request's base and the project's slug.
    response = AtomFeed(base=_base(request))(request, slug=slug)
    etag = f'"{publishing.body_digest(response.content)}"'
    stamp = response.get("Last-Modified")
    last_modified = parse_http_date(stamp) if stamp else None
    conditional = get_conditional_response(request, etag=etag, last_modified=last_modified)
    if conditional is not None:
        response = conditional
        if stamp:
            response["Last-Modified"] = stamp
    response["ETag"] = etag
    return _public(response)


class _Atom(Atom1Feed):
    """Atom whose ``<updated>`` (and the view's Last-Modified) is the project's last
    publication change: a retraction removes an item, and the feed must not look older
    for it (the items alone would date it to the newest remaining one)."""

    def latest_post_date(self) -> Any:
        return self.feed.get("last_change") or super().latest_post_date()


class AtomFeed(SyndicationFeed):
    """The same current fact checks as an Atom feed (retractions left out)."""

    feed_type = _Atom

    def feed_extra_kwargs(self, obj: Project) -> dict[str, Any]:
        return {"last_change": selectors.publications_last_change(project=obj)}

    def __init__(self, *, base: str) -> None:
        super().__init__()
        self._request_base = base
        self._slug = ""

    def get_object(self, request: HttpRequest, slug: str) -> Project:  # type: ignore[override]
        return selectors.public_project_get(slug=slug)

    def title(self, project: Project) -> str:
        return f"{project.organization or project.name}: fact checks"

    def link(self, project: Project) -> str:
        return selectors.public_index_url(base=self._request_base, slug=project.slug)

    def subtitle(self, project: Project) -> str:
        return "Published fact checks, corrections included."

    def items(self, project: Project) -> list[Publication]:
        self._slug = project.slug
        return selectors.feed_current_versions(project=project)

    def item_title(self, item: Publication) -> str:
        return f"{item.rating_label}: {item.statement}"

    def item_description(self, item: Publication) -> str:
        # Atom's <summary type="html"> is HTML: a reader unescapes the XML once and renders
        # the rest as markup. The summary is plain text, so it is escaped as HTML first
        # ("<script>" arrives as "&amp;lt;script&amp;gt;", shown as typed, never run).
        return escape(item.summary)

    def item_link(self, item: Publication) -> str:
        return selectors.public_url(
            base=self._request_base, slug=self._slug, claim_id=item.claim_id
        )

    def item_guid(self, item: Publication) -> str:
        return self.item_link(item)

    def item_pubdate(self, item: Publication) -> Any:
        return item.published_at

    def item_updateddate(self, item: Publication) -> Any:
        return item.modified_at

    def item_author_name(self, item: Publication) -> str:
        return item.publisher_name
