"""Languages and directions (``annotations.core.language``): BCP 47 tags, the direction a
tag implies, the direction of a text, detection with the shipped model, and the scripts
that word search cannot find."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from annotations.core import language as lang

pytestmark = pytest.mark.db_independent

RTL = ["ar", "ar-EG", "he", "iw", "fa", "fa-IR", "ur", "ps", "yi", "dv", "ckb", "ug", "az-Arab", "pa-Arab", "ku-Arab", "sd"]  # fmt: skip
LTR = ["en", "en-GB", "zh", "zh-Hans-CN", "ja", "ko", "ru", "tr", "az-Latn", "pa-Guru", "ku-Latn", "uz", "hi"]  # fmt: skip


@pytest.mark.parametrize("tag", RTL)
def test_it_reads_right_to_left_tags(tag: str) -> None:
    assert lang.direction_of(tag) == "rtl"


@pytest.mark.parametrize("tag", LTR)
def test_it_reads_left_to_right_tags(tag: str) -> None:
    assert lang.direction_of(tag) == "ltr"


@pytest.mark.parametrize("tag", ["", "ku", "pa", "ks", "english", "en_US", "x-klingon", "i-klingon", "a", "123"])  # fmt: skip
def test_it_leaves_unknown_directions_to_the_text(tag: str) -> None:
    assert lang.direction_of(tag) == "auto"


@pytest.mark.parametrize(
    ("tag", "ok"),
    [
        ("en", True), ("pt-BR", True), ("zh-Hant-TW", True), ("sr-Latn-RS", True),
        ("es-419", True), ("de-CH-1996", True), ("en-US-x-twain", True), ("x-whatever", True),
        ("i-klingon", True), ("yue", True), ("zh-yue-HK", True),
        ("", False), ("e", False), ("english language", False), ("en_US", False),
        ("en-", False), ("-en", False), ("en--US", False), ("ar-EGYPT-", False), ("日本語", False),
        ("toolongtag", False), ("english", False), ("French", False), ("en-US-x", False),
    ],
)  # fmt: skip
def test_it_checks_bcp47_syntax(tag: str, ok: bool) -> None:
    assert lang.is_language_tag(tag) is ok
    assert (lang.language_error(tag) is None) is (ok or tag == "")


@pytest.mark.parametrize(
    ("given_", "expected"),
    [("zh-hant-tw", "zh-Hant-TW"), ("EN_us", "en-US"), (" ar ", "ar"), ("en-US-x-Twain", "en-US-x-twain"), ("nope!", "")],
)  # fmt: skip
def test_it_normalizes_case(given_: str, expected: str) -> None:
    assert lang.normalize_tag(given_) == expected


_SUBTAG = st.from_regex(r"\A[a-z]{2,3}\Z")
_SCRIPT = st.sampled_from(["Latn", "Cyrl", "Arab", "Hebr", "Hans", "Thaa", "Syrc", "Deva"])
_REGION = st.one_of(st.just(""), st.from_regex(r"\A[A-Z]{2}\Z"), st.from_regex(r"\A[0-9]{3}\Z"))


@given(primary=_SUBTAG, script=_SCRIPT, region=_REGION)
def test_a_script_subtag_decides_the_direction(primary: str, script: str, region: str) -> None:
    tag = "-".join(part for part in (primary, script, region) if part)
    assert lang.is_language_tag(tag)
    expected = "rtl" if script in ("Arab", "Hebr", "Thaa", "Syrc") else "ltr"
    assert lang.direction_of(tag) == expected
    assert lang.direction_of(tag.lower()) == expected == lang.direction_of(tag.upper())


@given(primary=_SUBTAG, region=_REGION)
def test_without_a_script_the_language_decides(primary: str, region: str) -> None:
    tag = f"{primary}-{region}" if region else primary
    direction = lang.direction_of(tag)
    if primary in lang.RTL_LANGUAGES:
        assert direction == "rtl"
    elif primary in lang.BOTH_DIRECTIONS:
        assert direction == "auto"
    else:
        assert direction == "ltr"


@given(st.text(max_size=40))
def test_any_string_gets_a_direction_and_normalizing_is_stable(value: str) -> None:
    assert lang.direction_of(value) in lang.DIRECTIONS
    normalized = lang.normalize_tag(value)
    assert normalized == "" or lang.is_language_tag(normalized)
    assert lang.normalize_tag(normalized) == normalized
    if normalized:
        assert lang.direction_of(normalized) == lang.direction_of(value.strip().replace("_", "-"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("قال الوزير إن معدل البطالة انخفض إلى ثلاثة بالمئة هذا العام.", "rtl"),
        ("השר אמר כי האבטלה ירדה לשלושה אחוזים השנה.", "rtl"),
        ("The minister said unemployment fell.", "ltr"),
        ("部长说失业率下降了。", "ltr"),
        ("2024: 3.1% — 42", "auto"),
        ("The World Health Organization (منظمة الصحة) said so on Monday.", "ltr"),
    ],
)
def test_the_text_decides_by_its_strong_characters(text: str, expected: str) -> None:
    assert lang.direction_of_text(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("قال الوزير إن معدل البطالة انخفض إلى ثلاثة بالمئة هذا العام.", "ar"),
        ("השר אמר כי האבטלה ירדה לשלושה אחוזים השנה.", "he"),
        ("این یک متن فارسی درباره اقتصاد کشور است.", "fa"),
        ("The minister said that unemployment fell to three percent this year.", "en"),
        ("部长说\uff0c今年的失业率下降到了百分之三。", "zh"),
        ("大臣は、今年の失業率が3パーセントに下がったと述べた。", "ja"),
        ("OK", ""),
        ("2024 — 3.1%", ""),
    ],
)
def test_it_detects_languages_with_the_shipped_model(text: str, expected: str) -> None:
    assert lang.detect_language(text) == expected


def test_detection_reads_only_the_prefix() -> None:
    text = "The minister said that unemployment fell to three percent this year. " * 40
    assert lang.detect_language(text + "قال الوزير " * 5000) == "en"


def test_a_given_language_and_direction_win() -> None:
    arabic = "قال الوزير إن معدل البطالة انخفض إلى ثلاثة بالمئة هذا العام."
    assert lang.language_and_direction(text=arabic) == ("ar", "rtl")
    assert lang.language_and_direction(text=arabic, language="en") == ("en", "ltr")
    assert lang.language_and_direction(text=arabic, language="en", direction="auto") == (
        "en",
        "auto",
    )
    # Kurdish without a script: the text says which way it runs.
    assert lang.language_and_direction(text=arabic, language="ku") == ("ku", "rtl")
    assert lang.language_and_direction(text="2024", language="") == ("", "auto")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("北京", True), ("ひらがな", True), ("カタカナ", True), ("서울", True), ("ภาษาไทย", True),
        ("𠀀", True), ("unemployment", False), ("قال", False), ("שלום", False), ("", False),
        ("GDP 增长", True),
    ],
)  # fmt: skip
def test_it_knows_the_scripts_written_without_spaces(query: str, expected: bool) -> None:
    assert lang.has_unspaced_script(query) is expected


# The model cache (use_model_cache): an uncompressed, memory-mapped copy of the shipped model.
SAMPLES = [
    "The minister said that unemployment fell to three percent this year.",
    "قال الوزير إن معدل البطالة انخفض إلى ثلاثة بالمئة هذا العام.",
    "大臣は、今年の失業率が3パーセントに下がったと述べた。",
    "Der Minister sagte, die Arbeitslosigkeit sei gesunken.",
    "OK 2024",
]


def test_the_cached_model_classifies_as_the_shipped_one(tmp_path: Path) -> None:
    shipped = lang._load_classifier(None)
    written = lang._load_classifier(tmp_path)  # decompresses and writes the copy
    [folder] = tmp_path.iterdir()
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        f"{name}.npy" for name in lang._MODEL_ARRAYS
    )
    mapped = lang._load_classifier(tmp_path)  # maps the copy
    assert isinstance(mapped.tk_nextmove, memoryview)
    for text in SAMPLES:
        assert shipped.classify(text) == written.classify(text) == mapped.classify(text)


def test_a_damaged_copy_is_not_used(tmp_path: Path) -> None:
    lang._load_classifier(tmp_path)
    [folder] = tmp_path.iterdir()
    (folder / "ptc.npy").write_bytes(b"not an array")
    shipped = lang._load_classifier(None)
    again = lang._load_classifier(tmp_path)  # unreadable: loads the shipped model
    assert again.classify(SAMPLES[0]) == shipped.classify(SAMPLES[0])


def test_an_unwritable_cache_folder_loads_the_shipped_model(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("a file where the folder would go")
    identifier = lang._load_classifier(blocked / "langid")
    assert identifier.classify(SAMPLES[0])[0] == "en"
    assert blocked.read_text() == "a file where the folder would go"
