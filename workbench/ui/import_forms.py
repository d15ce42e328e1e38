"""Input of the import, revision and re-anchoring pages. Forms only parse and check shape;
the services own the rules (duplicates, length limits, spans, permissions)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile

from annotations.core import spans
from annotations.services import importing, limits

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
    start = forms.IntegerField(widget=forms.HiddenInput)
    end = forms.IntegerField(widget=forms.HiddenInput)
    exact = forms.CharField(required=False, strip=False, widget=forms.HiddenInput)
    note = forms.CharField(required=False, max_length=limits.MAX_NOTE)

    def clean_exact(self) -> str | None:
        # Form submission turns "\n" into "\r\n"; compare in the canonical form.
        exact = self.cleaned_data["exact"]
        return spans.canonicalize(exact) if exact else None
