"""Documents stored before 0022 get a language (detected when they have none) and the
direction it implies. Not atomic: each batch commits on its own, so the table is not held
locked while the detector reads every document; rows already right are not rewritten.
These are data repairs, not edits: they leave no audit event, and the reverse keeps them."""

import re
import unicodedata

from django.db import migrations
from django.db.models.functions import Substr

# A frozen copy of what annotations.core.language decided when this migration was written
# (migrations import nothing of the app but its models): detect the language of documents
# that have none from the first PREFIX code points of their text, then give every
# document the direction its language implies, or its text's.
PREFIX = 2000
BATCH = 500
MIN_CONFIDENCE = 0.5
RTL_LANGUAGES = {
    "ar", "arb", "arc", "arq", "ars", "ary", "arz", "acm", "acq", "aeb", "afb", "ajp", "apc",
    "apd", "ayl", "azb", "bal", "bqi", "ckb", "dv", "fa", "glk", "hbo", "he", "iw", "khw",
    "lrc", "mzn", "nqo", "pes", "pnb", "prs", "ps", "sd", "sdh", "skr", "syc", "syr", "ug",
    "ur", "yi", "ji",
}  # fmt: skip
RTL_SCRIPTS = {"arab", "aran", "hebr", "syrc", "thaa", "nkoo", "adlm", "rohg", "mand", "samr"}
BOTH = {"ku", "pa", "ks"}
_TAG = re.compile(r"[a-z]{2,3}(?:-[a-z0-9]{1,8})*", re.IGNORECASE | re.ASCII)


def _text_direction(text):
    rtl = ltr = 0
    for char in text:
        kind = unicodedata.bidirectional(char)
        if kind in ("R", "AL"):
            rtl += 1
        elif kind == "L":
            ltr += 1
    if not rtl and not ltr:
        return "auto"
    return "rtl" if rtl > ltr else "ltr"


def _direction(language, head):
    if _TAG.fullmatch(language):
        parts = language.lower().split("-")
        scripts = [part for part in parts[1:] if len(part) == 4 and part.isalpha()]
        if scripts:
            return "rtl" if scripts[0] in RTL_SCRIPTS else "ltr"
        if parts[0] in RTL_LANGUAGES:
            return "rtl"
        if parts[0] not in BOTH:
            return "ltr"
    return _text_direction(head)


def detect_languages_and_directions(apps, schema_editor):
    Document = apps.get_model("annotations", "Document")
    identifier = None
    last = 0
    while True:
        rows = list(
            Document.objects.filter(pk__gt=last)
            .order_by("pk")
            .annotate(head=Substr("text", 1, PREFIX))
            .values_list("pk", "language", "head")[:BATCH]
        )
        if not rows:
            return
        changed = []
        for pk, language, head in rows:
            original = language
            if not language and sum(1 for char in head if char.isalpha()) >= 4:
                if identifier is None:
                    from py3langid.langid import MODEL_FILE, LanguageIdentifier

                    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
                guess, confidence = identifier.classify(head)
                if confidence >= MIN_CONFIDENCE and guess not in ("zxx", "und"):
                    language = guess
            direction = _direction(language, head)
            if language != original or direction != "auto":  # "auto" is the column's default
                changed.append(Document(pk=pk, language=language, direction=direction))
        Document.objects.bulk_update(changed, ["language", "direction"])
        last = rows[-1][0]


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("annotations", "0022_lang_document_direction"),
    ]

    operations = [
        migrations.RunPython(detect_languages_and_directions, migrations.RunPython.noop),
    ]
