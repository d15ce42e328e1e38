"""Input of the reviewer UI: claims, verdicts and editors' actions; import, revision and
re-anchoring. Forms only parse and check shape; the services own the rules (duplicates,
length limits, spans, permissions), and field lengths come from ``services.limits``. Every
number field is an ``AsciiIntegerField`` or ``AsciiFloatField``: a number spelled as the
API takes it (``annotations.formfields``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile

from annotations.core import consensus as rules
from annotations.core import evidence_policy, scheduling, spans
from annotations.core.calibration import MAX_GOLD_RATE
from annotations.core.numbers import MAX_ID
from annotations.core.urlnorm import UrlError, normalize_url
from annotations.formfields import AsciiFloatField, AsciiIntegerField, AsciiManagementFormMixin
from annotations.models import (
    ClaimantKind,
    CommentVisibility,
    Confidence,
    ConsensusRule,
    LinkState,
    NotificationKind,
    Project,
    Rating,
    Role,
    Stance,
)
from annotations.services import CitationInput, importing, limits, public_url

# --- claims, verdicts, editors -----------------------------------------------------------------

# Keys 1..9 pick a rating; a scale longer than nine entries is still usable with the mouse
# or the arrow keys inside the radio group.
MAX_RATING_SHORTCUTS = 9


class ShortcutRadioSelect(forms.RadioSelect):
    """Radio buttons that carry ``data-shortcut="1"``, ``"2"``… in display order."""

    def create_option(
        self,
        name: str,
        value: Any,
        label: Any,
        selected: bool,
        index: int,
        subindex: int | None = None,
        attrs: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        if index < MAX_RATING_SHORTCUTS:
            option["attrs"] = {**option["attrs"], "data-shortcut": str(index + 1)}
        option["shortcut"] = str(index + 1) if index < MAX_RATING_SHORTCUTS else ""
        return option


# The claimant fields suggest the registry's names from <datalist id="claimant-names">
# (workbench/_claimant_datalist.html): the browser's own autocomplete, with or without JS.
CLAIMANT_INPUT = forms.TextInput(attrs={"list": "claimant-names", "autocomplete": "off"})


class ClaimCreateForm(forms.Form):
    # Offsets are validated by annotations.core.spans (precise messages), not by min_value here.
    start = AsciiIntegerField(widget=forms.HiddenInput)
    end = AsciiIntegerField(widget=forms.HiddenInput)
    exact = forms.CharField(required=False, strip=False, widget=forms.HiddenInput)
    statement = forms.CharField(
        required=False,
        max_length=limits.MAX_STATEMENT,
        widget=forms.Textarea(attrs={"rows": 3, "dir": "auto"}),
        help_text="The checkable claim in your words. Left empty, the quote is used.",
    )
    claimant = forms.CharField(
        required=False,
        max_length=limits.MAX_CLAIMANT,
        help_text="Who made the claim, e.g. “the mayor”. Names of the claimant registry are "
        "suggested as you type.",
        widget=CLAIMANT_INPUT,
    )

    def clean_exact(self) -> str | None:
        # Form submission turns "\n" into "\r\n"; compare in the canonical form.
        exact = self.cleaned_data["exact"]
        return spans.canonicalize(exact) if exact else None


class SuggestionAcceptForm(forms.Form):
    """Accept a suggested sentence: its span (the service checks it is one)."""

    start = AsciiIntegerField(widget=forms.HiddenInput)
    end = AsciiIntegerField(widget=forms.HiddenInput)


class SuggestionDismissForm(SuggestionAcceptForm):
    reason = forms.CharField(
        max_length=limits.MAX_REASON,
        help_text="Why it is not worth checking, e.g. “a greeting”, “an opinion”.",
    )


# A hidden field the page filled in (the version an edit started from) came back unreadable.
FORM_OUT_OF_DATE = (
    "This form is out of date or was altered ({field}: {error}); it now holds the claim's "
    "current version: check your text against the current statement and save again."
)


class VersionedForm(forms.Form):
    """A claim form that carries, hidden, the version the user started from (optimistic
    concurrency). The field is hidden, so an unreadable version is also said above the
    form (``FORM_OUT_OF_DATE``, naming the field), and the view moves the form onto the
    claim's current version (``rebase``) so the bad value is not sent again."""

    version = AsciiIntegerField(widget=forms.HiddenInput, min_value=1)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        for error in self.errors.get("version", ()):
            self.add_error(None, FORM_OUT_OF_DATE.format(field="version", error=error))
        return cleaned

    def rebase(self, version: int) -> None:
        """Keep the user's text but move the form onto ``version`` (after a stale save, or
        an unreadable version), so a second, deliberate save goes through."""
        data = self.data.copy()
        data[self.add_prefix("version")] = str(version)
        self.data = data


class ClaimEditForm(VersionedForm):
    statement = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "dir": "auto"}),
        max_length=limits.MAX_STATEMENT,
        help_text="The checkable claim in your words.",
    )
    claimant = forms.CharField(
        required=False,
        max_length=limits.MAX_CLAIMANT,
        help_text="Who made the claim.",
        widget=CLAIMANT_INPUT,
    )


class ClaimReviseForm(VersionedForm):
    """An editor's revision of a judged claim: a new version that goes back to review."""

    statement = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "dir": "auto"}),
        max_length=limits.MAX_STATEMENT,
        help_text="The revised claim. Earlier verdicts stay with the version they judged.",
    )
    claimant = forms.CharField(
        required=False,
        max_length=limits.MAX_CLAIMANT,
        help_text="Who made the claim.",
        widget=CLAIMANT_INPUT,
    )
    note = forms.CharField(
        required=False,
        max_length=limits.MAX_NOTE,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Why the claim is revised (kept with the old version).",
    )


class VerdictForm(forms.Form):
    rating = forms.ChoiceField(widget=ShortcutRadioSelect)
    confidence = forms.ChoiceField(
        choices=Confidence.choices, widget=forms.RadioSelect, initial=Confidence.MEDIUM
    )
    rationale = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6, "data-shortcut": "w"}),
        required=False,
        max_length=limits.MAX_RATIONALE,
        help_text="What the evidence shows and why you chose this rating.",
    )

    def __init__(self, *args: Any, ratings: Sequence[Rating], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["rating"].choices = [(rating.key, rating.label) for rating in ratings]


class CitationForm(forms.Form):
    url = forms.CharField(
        label="Source URL",
        max_length=limits.MAX_URL,
        widget=forms.URLInput(attrs={"autocomplete": "off", "inputmode": "url"}),
        help_text="http or https; type to search the project's sources.",
    )
    quote = forms.CharField(
        label="Quoted passage",
        required=False,
        max_length=limits.MAX_QUOTE,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    stance = forms.ChoiceField(choices=Stance.choices, initial=Stance.SUPPORTS)

    def __init__(self, *args: Any, search_url: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.search_url = search_url
        url_attrs = self.fields["url"].widget.attrs
        url_attrs["list"] = f"{self.prefix or 'citation'}-sources"
        if search_url:
            url_attrs.update(
                {
                    "hx-get": search_url,
                    "hx-trigger": "input changed delay:250ms",
                    "hx-target": f"#{url_attrs['list']}",
                    "hx-swap": "innerHTML",
                    "hx-sync": "this:replace",
                    "data-source-search": "",
                }
            )

    def clean_url(self) -> str:
        url = self.cleaned_data["url"].strip()
        try:
            normalize_url(url)
            public_url(url)  # no loopback, private or other internal address
        except UrlError as exc:
            raise forms.ValidationError(str(exc), code="url") from None
        return url

    def citation_input(self) -> CitationInput:
        return CitationInput(
            url=self.cleaned_data["url"],
            quote=self.cleaned_data.get("quote", ""),
            stance=self.cleaned_data["stance"],
        )


class BaseFormSet(AsciiManagementFormMixin, forms.BaseFormSet):
    """The base of every formset of the UI: its management form's counts are whole numbers
    in ASCII digits (``formfields.AsciiManagementForm``); any other spelling is the
    formset's own "ManagementForm data is missing or has been tampered with" error and
    no row is read."""


class BaseCitationFormSet(BaseFormSet):
    """Citation rows, all optional: a row left blank is dropped, a filled row must be valid.

    Rows are added by htmx (``citation-row``) without a page load, so no row is ever an
    "initial" one that Django would insist on validating.
    """

    def __init__(self, *args: Any, extra_rows: int = 1, **kwargs: Any) -> None:
        self.extra = extra_rows
        super().__init__(*args, **kwargs)

    def initial_form_count(self) -> int:
        return 0

    def total_form_count(self) -> int:
        if self.is_bound:
            return super().total_form_count()
        return min(len(self.initial or ()) + self.extra, self.absolute_max)

    @property
    def next_index(self) -> int:
        """The index an added row gets (rows are numbered from 0)."""
        return self.total_form_count()

    @property
    def can_add_row(self) -> bool:
        return self.total_form_count() < self.absolute_max

    def citation_inputs(self) -> list[CitationInput]:
        return [form.citation_input() for form in self.forms if form.has_changed()]


CitationFormSet = forms.formset_factory(
    CitationForm,
    formset=BaseCitationFormSet,
    extra=1,
    max_num=limits.MAX_CITATIONS,
    absolute_max=limits.MAX_CITATIONS,
    validate_max=True,
)
CITATION_PREFIX = "citations"


class CitationRowForm(forms.Form):
    index = AsciiIntegerField(min_value=0, max_value=limits.MAX_CITATIONS - 1)


class SourceSearchForm(forms.Form):
    q = forms.CharField(required=False, max_length=200)


class SkipForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=limits.MAX_REASON,
        help_text="For example a conflict of interest. The claim will not be offered to you again.",
    )


class WithdrawForm(forms.Form):
    """Withdrawing a claim (its creator before any verdict, or an editor): the reason is
    kept in the claim's history and the audit log."""

    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=limits.MAX_REASON,
        help_text="For example: a duplicate of another claim, or not a checkable claim. "
        "The claim leaves the queue for good; its history is kept.",
    )


class ClaimScheduleForm(forms.Form):
    """Editors: the claim's place in the queue. The deadline is a local date and time (the
    site's time zone); empty clears it."""

    priority = forms.ChoiceField(
        choices=[(key, key.capitalize()) for key in scheduling.PRIORITIES],
        help_text="The queue hands out urgent claims first, then high, normal, low.",
    )
    due_at = forms.DateTimeField(
        required=False,
        label="Deadline",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text="Among claims of one priority the earliest deadline comes first.",
    )


class AssignForm(forms.Form):
    reviewers = forms.CharField(
        max_length=2000,
        help_text="Usernames of project members, separated by commas or spaces.",
    )

    def usernames(self) -> list[str]:
        return [name for name in self.cleaned_data["reviewers"].replace(",", " ").split() if name]


class EditorActionForm(forms.Form):
    """An editor's action, posted from the claim page or the disputes page (``origin``), so
    the answer goes back to the same page."""

    form_key = ""

    def origin(self) -> str:
        value = self.data.get("origin", "")
        return value if value in ("claim", "disputes") else "claim"


class AdjudicateForm(EditorActionForm):
    form_key = "adjudicate_form"
    rating = forms.ChoiceField(label="Final rating")
    note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=limits.MAX_NOTE,
        help_text="Why this rating; the note is part of the published record.",
    )

    def __init__(self, *args: Any, ratings: Sequence[Rating], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["rating"].choices = [("", "Choose a rating")] + [
            (rating.key, rating.label) for rating in ratings
        ]


class GoldForm(EditorActionForm):
    """Mark a resolved claim as gold (calibration) with its expected rating."""

    form_key = "gold_form"
    rating = forms.ChoiceField(
        label="Expected rating",
        required=False,
        help_text="Empty: the claim's consensus rating.",
    )
    note = forms.CharField(
        label="Note (editors only)",
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=limits.MAX_NOTE,
        required=False,
    )

    def __init__(self, *args: Any, ratings: Sequence[Rating], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["rating"].choices = [("", "The consensus rating")] + [
            (rating.key, rating.label) for rating in ratings
        ]


class ReopenForm(EditorActionForm):
    form_key = "reopen_form"
    note = forms.CharField(
        label="Reason for reopening",
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=limits.MAX_NOTE,
    )


class PublishForm(EditorActionForm):
    form_key = "publish_form"
    summary = forms.CharField(
        label="Summary for readers",
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=limits.MAX_SUMMARY,
        help_text="Shown on the public page and in the ClaimReview: what was checked, what was found.",
    )


class CorrectForm(EditorActionForm):
    form_key = "correct_form"
    rating = forms.ChoiceField(label="New rating", required=False)
    statement = forms.CharField(
        label="Published statement",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "dir": "auto"}),
        max_length=limits.MAX_STATEMENT,
        help_text="Leave as it is to keep the published wording.",
    )
    claimant = forms.CharField(label="Claimant", required=False, max_length=limits.MAX_CLAIMANT)
    summary = forms.CharField(
        label="Summary for readers",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=limits.MAX_SUMMARY,
    )
    note = forms.CharField(
        label="Public correction note",
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=limits.MAX_NOTE,
        help_text="Readers see it on the page, with the date: what changed and why.",
    )

    def __init__(self, *args: Any, ratings: Sequence[Rating], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["rating"].choices = [("", "Keep the published rating")] + [
            (rating.key, rating.label) for rating in ratings
        ]

    def changes(self) -> dict[str, str]:
        """What the form changes against the published version (``initial``): only fields
        whose value differs are passed on, so an untouched field is carried over."""
        data = self.cleaned_data
        changes: dict[str, str] = {}
        if data.get("rating"):
            changes["rating"] = data["rating"]
        for name in ("statement", "claimant", "summary"):
            value = (data.get(name) or "").strip()
            if value != (self.initial.get(name) or "").strip() and (value or name == "claimant"):
                changes[name] = value
        return changes


class RetractForm(EditorActionForm):
    form_key = "retract_form"
    note = forms.CharField(
        label="Public retraction notice",
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=limits.MAX_NOTE,
        help_text="Readers see it on the page: why the fact check was retracted.",
    )


class PublishingSettingsForm(forms.Form):
    publishing_enabled = forms.BooleanField(
        label="Public pages and feeds for published fact checks", required=False
    )


class ReviewPolicyForm(forms.Form):
    """A project's review policy, as its admins set it: how many blind verdicts a claim
    needs, the rule that decides from them, and how long a lease lasts. The services check
    the ranges (``project_update``) and word the errors."""

    required_reviews = AsciiIntegerField(
        label="Verdicts every claim needs",
        min_value=rules.MIN_REQUIRED_REVIEWS,
        max_value=rules.MAX_REQUIRED_REVIEWS,
        help_text=f"{rules.MIN_REQUIRED_REVIEWS} to {rules.MAX_REQUIRED_REVIEWS} reviewers, "
        "each blind.",
    )
    consensus_rule = forms.ChoiceField(label="Consensus rule", choices=ConsensusRule.choices)
    majority_threshold = AsciiFloatField(
        label="Majority threshold",
        min_value=rules.MIN_MAJORITY_THRESHOLD,
        max_value=rules.MAX_PROJECT_MAJORITY_THRESHOLD,
        help_text="For the majority rule: the share the top rating must exceed, "
        f"{rules.MIN_MAJORITY_THRESHOLD} to {rules.MAX_PROJECT_MAJORITY_THRESHOLD}.",
    )
    lease_minutes = AsciiIntegerField(
        label="Lease length (minutes)",
        min_value=scheduling.MIN_LEASE_MINUTES,
        max_value=scheduling.MAX_LEASE_MINUTES,
        help_text="How long a reviewer holds a claim, "
        f"{scheduling.MIN_LEASE_MINUTES} to {scheduling.MAX_LEASE_MINUTES}.",
    )

    @classmethod
    def for_project(cls, project: Project) -> ReviewPolicyForm:
        return cls(
            initial={name: getattr(project, name) for name in cls.base_fields},
            auto_id="review-%s",
        )


class GoldRateForm(forms.Form):
    """Gold calibration: the share of leases that serve a gold claim (project admins)."""

    gold_rate = AsciiFloatField(
        label="Share of leases that serve a gold claim",
        min_value=0,
        max_value=MAX_GOLD_RATE,
        help_text="0 = never; e.g. 0.05 = one lease in twenty.",
    )


class EvidencePolicyForm(forms.Form):
    """A project's evidence policy (``core.evidence``), as its admins set it."""

    min_citations = AsciiIntegerField(
        label="Citations every verdict needs",
        min_value=0,
        max_value=evidence_policy.MAX_MIN_CITATIONS,
        help_text="0 = none required.",
    )
    quote_required = forms.BooleanField(
        label="Every citation must quote its source", required=False
    )
    allowed_stances = forms.MultipleChoiceField(
        label="Allowed stances",
        choices=Stance.choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Allow at least one stance."},
    )

    @classmethod
    def for_project(cls, project: Project) -> EvidencePolicyForm:
        policy = project.evidence_policy
        return cls(
            initial={
                "min_citations": policy.min_citations,
                "quote_required": policy.quote_required,
                "allowed_stances": list(policy.allowed_stances),
            },
            auto_id="policy-%s",
        )


# --- import, revision, re-anchoring ------------------------------------------------------------

SOURCE_FIELDS = ("text", "file", "url")
METADATA_FIELDS = ("title", "author", "publisher", "published_date", "source_url")
MAX_QUERY = 5_000


def upload_limit() -> int:
    """Largest file accepted, in bytes: the same cap as a request body."""
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE


def _check_upload(upload: UploadedFile | None) -> UploadedFile | None:
    if upload is not None and upload.size is not None and upload.size > upload_limit():
        raise forms.ValidationError(
            f"The file has {upload.size:,} bytes; the limit is {upload_limit():,}.",
            code="file_size",
        )
    return upload


class DocumentImportForm(forms.Form):
    """Paste, upload or give a URL (exactly one); after a preview the input travels along
    in ``raw``/``raw_format``/``raw_url``/``raw_name``, so "Import" stores exactly what was
    previewed, without fetching or uploading again."""

    text = forms.CharField(
        label="Paste text",
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 10}),
        help_text="Plain text as scraped, or the HTML of a page.",
    )
    kind = forms.ChoiceField(
        label="Pasted text is",
        choices=[("auto", "Detect"), ("text", "Plain text"), ("html", "HTML")],
        initial="auto",
        required=False,
    )
    file = forms.FileField(
        label="Or upload a file",
        required=False,
        help_text=".txt, .html/.htm, or .jsonl (one document per line)",
        widget=forms.ClearableFileInput(attrs={"accept": ".txt,.text,.html,.htm,.jsonl,.ndjson"}),
    )
    url = forms.CharField(
        label="Or give a URL",
        required=False,
        max_length=limits.MAX_URL,
        widget=forms.URLInput(attrs={"inputmode": "url", "autocomplete": "off"}),
        help_text="http or https; the page is fetched by the server.",
    )
    remove_junk = forms.BooleanField(
        label="Remove scraped junk (CSS, ad scripts, feed footers, page furniture)",
        required=False,
        initial=True,
    )
    # Metadata, prefilled by the preview and editable.
    title = forms.CharField(required=False, max_length=limits.MAX_TITLE)
    author = forms.CharField(required=False, max_length=limits.MAX_AUTHOR)
    publisher = forms.CharField(required=False, max_length=limits.MAX_PUBLISHER)
    published_date = forms.DateField(
        label="Published", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    source_url = forms.CharField(label="Source URL", required=False, max_length=limits.MAX_URL)
    # The previewed input.
    raw = forms.CharField(required=False, strip=False, widget=forms.HiddenInput)
    raw_format = forms.ChoiceField(
        required=False,
        choices=[("", ""), ("text", "text"), ("html", "html"), ("jsonl", "jsonl")],
        widget=forms.HiddenInput,
    )
    raw_url = forms.CharField(required=False, max_length=limits.MAX_URL, widget=forms.HiddenInput)
    raw_name = forms.CharField(required=False, max_length=255, widget=forms.HiddenInput)

    def clean_file(self) -> UploadedFile | None:
        return _check_upload(self.cleaned_data.get("file"))

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("raw") and data.get("raw_format"):
            return data
        given = [name for name in SOURCE_FIELDS if data.get(name)]
        if not given and not self.errors:
            raise forms.ValidationError(
                "Paste a text, upload a file or give a URL.", code="no_source"
            )
        if len(given) > 1:
            raise forms.ValidationError(
                "Use one way at a time: paste a text, upload a file or give a URL.",
                code="many_sources",
            )
        return data

    def previewed_source(self) -> importing.RawSource | None:
        """The input carried over from a preview, if any."""
        data = self.cleaned_data
        if not (data.get("raw") and data.get("raw_format")):
            return None
        return importing.RawSource(
            content=data["raw"],
            format=data["raw_format"],
            url=data.get("raw_url", ""),
            name=data.get("raw_name", ""),
        )

    def metadata(self) -> dict[str, Any]:
        return {
            name: self.cleaned_data.get(name) or ("" if name != "published_date" else None)
            for name in METADATA_FIELDS
        }


class DocumentReviseForm(forms.Form):
    text = forms.CharField(
        label="Corrected text",
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 20}),
        help_text="The whole text as it should read now. Claims are re-anchored to it.",
    )
    file = forms.FileField(
        label="Or upload the corrected text",
        required=False,
        help_text=".txt, UTF-8",
        widget=forms.ClearableFileInput(attrs={"accept": ".txt,.text"}),
    )
    note = forms.CharField(
        required=False,
        max_length=limits.MAX_NOTE,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Why the text was corrected, e.g. “publisher's correction of 3 May”.",
    )

    def clean_file(self) -> UploadedFile | None:
        return _check_upload(self.cleaned_data.get("file"))

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        upload = data.get("file")
        if upload is not None:
            try:
                data["text"] = upload.read().decode("utf-8-sig")
            except UnicodeDecodeError:
                self.add_error("file", "The file is not UTF-8 text.")
        elif not (data.get("text") or "").strip() and "text" not in self.errors:
            self.add_error("text", "Paste the corrected text or upload it.")
        return data


class ReanchorFindForm(forms.Form):
    q = forms.CharField(label="Find in the current text", max_length=MAX_QUERY, strip=False)


class ReanchorForm(forms.Form):
    # Offsets are checked by annotations.core.spans inside the service (precise messages).
    start = AsciiIntegerField(widget=forms.HiddenInput)
    end = AsciiIntegerField(widget=forms.HiddenInput)
    exact = forms.CharField(required=False, strip=False, widget=forms.HiddenInput)
    note = forms.CharField(required=False, max_length=limits.MAX_NOTE)

    def clean_exact(self) -> str | None:
        # Form submission turns "\n" into "\r\n"; compare in the canonical form.
        exact = self.cleaned_data["exact"]
        return spans.canonicalize(exact) if exact else None


class InviteForm(forms.Form):
    """A project admin invites a username or an email address (issue 13, finding 5a)."""

    username = forms.CharField(
        label="Username or email address",
        max_length=limits.MAX_INVITED_AS,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    role = forms.ChoiceField(choices=Role.choices, initial=Role.REVIEWER)


# --- the claimant registry ----------------------------------------------------------------------


class ClaimantCreateForm(forms.Form):
    name = forms.CharField(max_length=limits.MAX_CLAIMANT, widget=CLAIMANT_INPUT)
    kind = forms.ChoiceField(choices=ClaimantKind.choices, initial=ClaimantKind.PERSON)
    description = forms.CharField(
        required=False, max_length=500, help_text="Who this is, e.g. a role and a period."
    )
    aliases = forms.CharField(
        required=False,
        max_length=2000,
        help_text="Other names, one per line (spellings, titles, handles).",
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def clean_aliases(self) -> list[str]:
        return [line.strip() for line in self.cleaned_data["aliases"].splitlines() if line.strip()]


class ClaimantEditForm(forms.Form):
    name = forms.CharField(
        max_length=limits.MAX_CLAIMANT, help_text="The old name stays as an alias."
    )
    kind = forms.ChoiceField(choices=ClaimantKind.choices)
    description = forms.CharField(required=False, max_length=500)


class ClaimantAliasForm(forms.Form):
    name = forms.CharField(label="New alias", max_length=limits.MAX_CLAIMANT)


class ClaimantMergeForm(forms.Form):
    into = forms.TypedChoiceField(
        label="Merge into", coerce=int, help_text="This claimant's names become its aliases."
    )


# --- finding claims (issue 17) ---------------------------------------------------------------

MAX_MATCH_TEXT = limits.MAX_STATEMENT


class MatchTextForm(forms.Form):
    text = forms.CharField(max_length=MAX_MATCH_TEXT, strip=True)


class ReferenceSearchForm(forms.Form):
    q = forms.CharField(max_length=200, required=False, strip=True, label="Search")


class ClaimLinkForm(forms.Form):
    kind = forms.ChoiceField(choices=[("reference", "reference"), ("claim", "claim")])
    id = AsciiIntegerField(min_value=1, max_value=MAX_ID)


class LinkDecideForm(forms.Form):
    state = forms.ChoiceField(choices=LinkState.choices)


# --- discussion and notifications (issue 18) ---------------------------------------------------


class CommentForm(forms.Form):
    body = forms.CharField(
        label="Comment",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=limits.MAX_COMMENT,
        help_text="Plain text; links are made clickable; @username notifies a member.",
    )
    visibility = forms.ChoiceField(
        choices=CommentVisibility.choices, initial=CommentVisibility.JUDGED, required=False
    )

    def clean_visibility(self) -> str:
        return self.cleaned_data.get("visibility") or CommentVisibility.JUDGED


class NotificationSettingsForm(forms.Form):
    email_enabled = forms.BooleanField(label="Also send notifications by e-mail", required=False)
    email_kinds = forms.MultipleChoiceField(
        label="Kinds to e-mail",
        choices=NotificationKind.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
