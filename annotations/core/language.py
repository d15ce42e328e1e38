"""A document's language and writing direction: BCP 47 tags, their direction, detection.

Pure Python, no Django. ``detect_language`` uses ``py3langid``, whose model ships inside its
wheel (nothing is downloaded); the model is loaded once per process, on first use: about
1 s from the shipped file, milliseconds from the mapped copy ``use_model_cache`` keeps.

* ``is_language_tag``: a well-formed BCP 47 tag (RFC 5646 syntax, e.g. ``en``, ``pt-BR``,
  ``zh-Hant-TW``, ``az-Arab``); the registry of subtags is not consulted.
* ``direction_of``: ``rtl`` for a right-to-left script (Arabic, Hebrew, Thaana, Syriac,
  N'Ko, …) named by the tag's script subtag or implied by its language, ``ltr`` for any
  other valid tag, ``auto`` when the tag is empty or invalid, or its language is written
  in both kinds of script and the tag names no script (Kurdish, Punjabi, Kashmiri): then
  the text decides (``direction_of_text``).
* ``detect_language``: the language of a text's first ``DETECT_PREFIX`` code points, or
  ``""`` when the model is not confident.
* ``has_unspaced_script``: whether a search query holds letters of a script written
  without spaces between words (Chinese, Japanese, Thai, …), which word search cannot find.
"""

from __future__ import annotations

import contextlib
import functools
import re
import shutil
import tempfile
import threading
import unicodedata
from pathlib import Path
from typing import Any, Literal

Direction = Literal["ltr", "rtl", "auto"]
DIRECTIONS: tuple[Direction, ...] = ("ltr", "rtl", "auto")

# Detection reads at most this many code points from the start of a text: a page of
# prose is plenty for the model, and a book-length document costs the same as an article.
DETECT_PREFIX = 2000
# Below this share (py3langid's normalised probability) the guess is not kept.
DETECT_MIN_CONFIDENCE = 0.5
# Texts with fewer letters than this are not classified at all ("OK", "123").
DETECT_MIN_LETTERS = 4
# Samples whose detected language is remembered (at most DETECT_PREFIX code points each).
DETECT_CACHE = 256

# ISO 15924 codes of scripts written right to left (the ones with Unicode support).
RTL_SCRIPTS = frozenset(
    {
        "adlm", "arab", "aran", "armi", "avst", "chrs", "cprt", "elym", "hatr", "hebr",
        "hung", "khar", "lydi", "mand", "mani", "mend", "merc", "mero", "narb", "nbat",
        "nkoo", "orkh", "ougr", "palm", "phli", "phlp", "phnx", "prti", "rohg", "samr",
        "sarb", "sogd", "sogo", "syrc", "syre", "syrj", "syrn", "thaa", "yezi",
    }
)  # fmt: skip
# Languages written right to left by default (ISO 639 codes; several Arabic varieties).
RTL_LANGUAGES = frozenset(
    {
        "ar", "arb", "arc", "arq", "ars", "ary", "arz", "acm", "acq", "aeb", "afb", "ajp",
        "apc", "apd", "ayl", "azb", "bal", "bqi", "ckb", "dv", "fa", "glk", "hbo", "he",
        "iw", "khw", "lrc", "mzn", "nqo", "pes", "pnb", "prs", "ps", "sd", "sdh", "skr",
        "syc", "syr", "ug", "ur", "yi", "ji",
    }
)  # fmt: skip
# Languages written in both a right-to-left and a left-to-right script: without a script
# subtag the tag does not say which.
BOTH_DIRECTIONS = frozenset({"ku", "pa", "ks"})

# RFC 5646, section 2.1 (langtag, privateuse, grandfathered), case-insensitive; primary
# language subtags of 4 to 8 letters are left out (none is registered), so that a name such
# as "english" is refused rather than taken for a tag.
_LANGTAG = re.compile(
    r"""
    (?:
      (?P<language>[a-z]{2,3}(?:-[a-z]{3}){0,3})
      (?:-(?P<script>[a-z]{4}))?
      (?:-(?:[a-z]{2}|[0-9]{3}))?
      (?:-(?:[a-z0-9]{5,8}|[0-9][a-z0-9]{3}))*
      (?:-[0-9a-wy-z](?:-[a-z0-9]{2,8})+)*
      (?:-x(?:-[a-z0-9]{1,8})+)?
    |
      x(?:-[a-z0-9]{1,8})+
    |
      en-gb-oed|i-ami|i-bnn|i-default|i-enochian|i-hak|i-klingon|i-lux|i-mingo|i-navajo
      |i-pwn|i-tao|i-tay|i-tsu|sgn-be-fr|sgn-be-nl|sgn-ch-de
      |art-lojban|cel-gaulish|no-bok|no-nyn|zh-guoyu|zh-hakka|zh-min|zh-min-nan|zh-xiang
    )
    """,
    re.IGNORECASE | re.VERBOSE | re.ASCII,
)


def is_language_tag(value: str) -> bool:
    """Whether ``value`` is a well-formed BCP 47 language tag (``en``, ``pt-BR``, ``ar-EG``)."""
    return bool(_LANGTAG.fullmatch(value))


def language_error(value: str) -> str | None:
    """Why ``value`` is not an acceptable language (empty is: "not known"), or None."""
    if value == "" or is_language_tag(value):
        return None
    return (
        f"{value!r} is not a BCP 47 language tag: use a code such as en, ar, he, zh-Hans "
        "or pt-BR (letters and digits in parts joined by hyphens)."
    )


def normalize_tag(value: str) -> str:
    """The tag in its conventional case (``zh-hant-tw`` → ``zh-Hant-TW``), or ``""`` when
    ``value`` is not a well-formed tag; ``_`` is read as ``-`` (``en_US`` from a locale)."""
    value = value.strip().replace("_", "-")
    if not is_language_tag(value):
        return ""
    parts = value.lower().split("-")
    out = [parts[0]]
    singleton = len(parts[0]) == 1  # a private-use tag ("x-…") is lower case throughout
    for part in parts[1:]:
        if len(part) == 1:
            singleton = True
        if singleton:
            out.append(part)
        elif len(part) == 4 and part.isalpha():
            out.append(part.title())
        elif len(part) == 2 and part.isalpha():
            out.append(part.upper())
        else:
            out.append(part)
    return "-".join(out)


def direction_of(language: str) -> Direction:
    """The writing direction a language tag implies: ``rtl``, ``ltr`` or ``auto`` (unknown)."""
    if not is_language_tag(language):
        return "auto"
    match = _LANGTAG.fullmatch(language)
    assert match is not None
    script = (match.group("script") or "").lower()
    primary = (match.group("language") or "").lower().split("-")[0]
    if script:
        return "rtl" if script in RTL_SCRIPTS else "ltr"
    if not primary:  # private use or grandfathered: nothing says
        return "auto"
    if primary in RTL_LANGUAGES:
        return "rtl"
    if primary in BOTH_DIRECTIONS:
        return "auto"
    return "ltr"


def direction_of_text(text: str, *, prefix: int = DETECT_PREFIX) -> Direction:
    """``rtl`` or ``ltr`` by which kind of strong character (Unicode bidi class R/AL or L)
    is more frequent in the first ``prefix`` code points; ``auto`` when there is none."""
    rtl = ltr = 0
    for char in text[:prefix]:
        kind = unicodedata.bidirectional(char)
        if kind in ("R", "AL"):
            rtl += 1
        elif kind == "L":
            ltr += 1
    if not rtl and not ltr:
        return "auto"
    return "rtl" if rtl > ltr else "ltr"


_identifier: Any = None
_identifier_lock = threading.Lock()
_model_cache: Path | None = None

# The model's arrays, as py3langid's loader returns them (ptc, pc, classes, nextmove,
# nextmove_row, out_feat), each kept as one ``.npy`` file in the cache folder.
_MODEL_ARRAYS = ("ptc", "pc", "classes", "nextmove", "nextmove_row", "out_feat")


def use_model_cache(folder: Path | None) -> None:
    """Keep an uncompressed copy of the language model in ``folder`` (None: none), made by
    the first process that loads the model and mapped into memory by every later one.

    py3langid ships its model xz-compressed: loading it takes about 1 s (0.6 s of it
    decompressing) in every new worker, and the first import of a worker paid for it (the
    peer workload's 500-document import took 1.3-2.6 s instead of ~0.5). The mapped
    copy loads in milliseconds, and its pages are file-backed: read as the classifier
    reaches them (~45 MB of 66 after an article) and shared by the workers through the
    page cache, instead of ~75 MB of private arrays in each worker."""
    global _model_cache
    _model_cache = folder


def _classifier() -> Any:
    global _identifier
    if _identifier is None:
        with _identifier_lock:
            if _identifier is None:
                _identifier = _load_classifier(_model_cache)
    return _identifier


def _load_classifier(cache: Path | None) -> Any:
    import numpy as np
    from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier
    from py3langid.modelio import load_model

    shipped = MODEL_DIR / MODEL_FILE
    if cache is None:
        return LanguageIdentifier.from_model_file(shipped, norm_probs=True)
    # One folder per shipped file: another py3langid version brings another model.
    stat = shipped.stat()
    folder = cache / f"py3langid-{stat.st_size}-{stat.st_mtime_ns}"
    try:
        arrays = [_map_array(folder / f"{name}.npy") for name in _MODEL_ARRAYS]
    except (OSError, ValueError, EOFError):  # missing, damaged or cut short: the shipped one
        arrays = None
    if arrays is None:
        ptc, pc, classes, nextmove, row, out = load_model(shipped)
        with contextlib.suppress(OSError):  # a read-only folder: no cache, as before
            _write_arrays(
                folder, [ptc, pc, np.array(classes), nextmove, row, np.array(out, np.int32)]
            )
        return LanguageIdentifier(ptc, pc, classes, nextmove, out, norm_probs=True, tk_row=row)
    ptc, pc, classes, nextmove, row, out = arrays
    return LanguageIdentifier(
        ptc,
        pc,
        classes.tolist(),
        memoryview(nextmove),  # indexes like py3langid's array("I"), without the copy
        memoryview(out),
        norm_probs=True,
        tk_row=memoryview(row),
    )


def _map_array(path: Path) -> Any:
    import numpy as np

    return np.load(path, mmap_mode="r", allow_pickle=False)


def _write_arrays(folder: Path, arrays: list[Any]) -> None:
    """Write the model's arrays into ``folder`` whole or not at all: into a temporary
    folder beside it, renamed into place (a concurrent writer's rename wins; a reader
    never sees half a model)."""
    import numpy as np

    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=".staging-"))
    try:
        staging.chmod(0o755)  # mkdtemp's 0700 would hide it from workers of another user
        for name, array in zip(_MODEL_ARRAYS, arrays, strict=True):
            np.save(staging / f"{name}.npy", np.asarray(array), allow_pickle=False)
        staging.rename(folder)
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)
        if not folder.is_dir():
            raise


def detect_language(text: str, *, prefix: int = DETECT_PREFIX) -> str:
    """The BCP 47 tag of the language of ``text`` (its first ``prefix`` code points), or
    ``""`` when there is too little text or the model is not confident enough.

    The answer for a sample is remembered (``DETECT_CACHE`` samples per process): a bulk
    import of documents that open alike (one publisher's header, a template) classifies
    that opening once, not once per document (about 2 ms each for a full prefix)."""
    sample = text[:prefix]
    letters = 0
    for char in sample:  # stops at the DETECT_MIN_LETTERS-th letter
        if char.isalpha():
            letters += 1
            if letters == DETECT_MIN_LETTERS:
                return _detect_sample(sample)
    return ""


@functools.lru_cache(maxsize=DETECT_CACHE)
def _detect_sample(sample: str) -> str:
    language, confidence = _classifier().classify(sample)
    if confidence < DETECT_MIN_CONFIDENCE or language in ("zxx", "und"):
        return ""
    return normalize_tag(str(language))


def language_and_direction(
    *, text: str, language: str = "", direction: str = ""
) -> tuple[str, Direction]:
    """What a new document records: the given ``language`` if any (a person or the source
    said so, and that wins), else the detected one; the given ``direction`` if any, else
    the language's, else the text's."""
    language = language or detect_language(text)
    if direction in DIRECTIONS:
        return language, direction
    implied = direction_of(language)
    return language, implied if implied != "auto" else direction_of_text(text)


# Scripts written without spaces between words: a search for a word of these finds
# nothing in a word index, so it looks for the substring instead.
_UNSPACED = re.compile(
    "["
    "\u0e00-\u0e7f"  # Thai
    "\u0e80-\u0eff"  # Lao
    "\u1000-\u109f"  # Myanmar
    "\u1780-\u17ff"  # Khmer
    "\u2e80-\u2fdf"  # CJK radicals, Kangxi radicals
    "\u3005-\u3007\u3021-\u3029\u3031-\u3035\u3038-\u303c"  # ideographic marks and numbers
    "\u3040-\u30ff"  # Hiragana, Katakana
    "\u3100-\u312f\u31a0-\u31bf"  # Bopomofo
    "\u31f0-\u31ff"  # Katakana extensions
    "\u3400-\u4dbf"  # CJK extension A
    "\u4e00-\u9fff"  # CJK unified ideographs
    "\uac00-\ud7af"  # Hangul syllables (Korean words take particles: "서울시는")
    "\uf900-\ufaff"  # CJK compatibility ideographs
    "\uff66-\uff9f"  # half-width Katakana
    "\U00020000-\U0003134f"  # CJK extensions B to H
    "]"
)


def has_unspaced_script(text: str) -> bool:
    """Whether ``text`` holds a letter of a script written without spaces between words
    (Chinese, Japanese, Korean syllables, Thai, Lao, Khmer, Myanmar)."""
    return bool(_UNSPACED.search(text))
