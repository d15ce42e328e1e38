"""A document's language and direction (issue 19): detected on every import path unless
given, checked as BCP 47, changed through ``document_update`` with an audit event; and the
document search finding Chinese and Japanese substrings (on SQLite and PostgreSQL)."""

from __future__ import annotations

import json

from django.core.exceptions import PermissionDenied, ValidationError
from django.test import TestCase

from annotations import selectors, services
from annotations.models import Document, Event, Role
from annotations.services import importing
from tests.factories import make_document, make_member, make_project, make_user

ARABIC = (
    "قال وزير المالية إن معدل البطالة انخفض إلى ثلاثة بالمئة هذا العام.\nوأضاف أن الأسعار مستقرة.\n"  # noqa: RUF001
)
HEBREW = "שר האוצר אמר כי שיעור האבטלה ירד לשלושה אחוזים השנה.\n"
CHINESE = "财政部长表示\uff0c今年的失业率下降到了百分之三。北京大学的经济学家对此表示怀疑。\n"
JAPANESE = "財務大臣は、今年の失業率が3パーセントに下がったと述べた。東京の経済学者は懐疑的だ。\n"
ENGLISH = "The finance minister said unemployment fell to three percent this year.\n"


class DocumentLanguageCreateTests(TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.editor = make_user("editor")
        cls.project = make_project(creator=cls.editor, name="Languages desk")

    def test_it_detects_language_and_direction_when_none_is_given(self) -> None:
        cases = [
            (ARABIC, "ar", "rtl"),
            (HEBREW, "he", "rtl"),
            (CHINESE, "zh", "ltr"),
            (JAPANESE, "ja", "ltr"),
            (ENGLISH, "en", "ltr"),
            ("2024 — 3.1%\n", "", "auto"),
        ]
        for text, language, direction in cases:
            with self.subTest(language or text):
                document = make_document(project=self.project, actor=self.editor, text=text)
                document.refresh_from_db()
                self.assertEqual((document.language, document.direction), (language, direction))

    def test_a_given_language_wins_and_brings_its_direction(self) -> None:
        document = make_document(
            project=self.project, actor=self.editor, text=ARABIC, language="EN-gb"
        )
        self.assertEqual((document.language, document.direction), ("en-GB", "ltr"))
        explicit = make_document(
            project=self.project, actor=self.editor, text=ENGLISH, language="en", direction="rtl"
        )
        self.assertEqual((explicit.language, explicit.direction), ("en", "rtl"))

    def test_it_refuses_a_language_that_is_not_a_bcp47_tag(self) -> None:
        for value in ("English", "en_US", "ar-", "日本語"):
            with self.subTest(value), self.assertRaises(ValidationError) as caught:
                make_document(project=self.project, actor=self.editor, text=ENGLISH, language=value)
            self.assertIn("BCP 47", " ".join(caught.exception.message_dict["language"]))
        self.assertFalse(Document.objects.filter(project=self.project).exists())

    def test_it_refuses_an_unknown_direction(self) -> None:
        with self.assertRaises(ValidationError) as caught:
            make_document(project=self.project, actor=self.editor, text=ENGLISH, direction="up")
        self.assertIn("direction", caught.exception.message_dict)

    def test_bulk_import_detects_each_document(self) -> None:
        documents = services.document_create_many(
            project=self.project,
            items=[
                services.DocumentInput(title="a", text=ARABIC),
                services.DocumentInput(title="z", text=CHINESE),
                services.DocumentInput(title="e", text=ENGLISH, language="fr"),
            ],
            actor=self.editor,
        )
        got = [(d.language, d.direction) for d in Document.objects.filter(pk__in=[d.pk for d in documents]).order_by("title")]  # fmt: skip
        self.assertEqual(got, [("ar", "rtl"), ("fr", "ltr"), ("zh", "ltr")])

    def test_jsonl_and_html_imports_detect_too(self) -> None:
        lines = [
            {"title": "Arabic line", "text": ARABIC},
            {"title": "Hebrew line", "text": HEBREW, "language": "he"},
        ]
        preview = importing.import_preview(
            source=importing.source_from_paste(
                text="\n".join(json.dumps(line, ensure_ascii=False) for line in lines),
                kind="jsonl",
            )
        )
        result = importing.documents_import_jsonl(
            project=self.project, preview=preview, actor=self.editor
        )
        self.assertEqual(
            sorted((d.title, d.language, d.direction) for d in result.imported),
            [("Arabic line", "ar", "rtl"), ("Hebrew line", "he", "rtl")],
        )
        # A page's lang attribute that is no tag is not kept: the text is read instead.
        page = f'<!doctype html><html lang="arabic!"><head><title>صفحة</title></head><body><article><p>{ARABIC}</p><p>{ARABIC}</p></article></body></html>'
        preview = importing.import_preview(source=importing.source_from_paste(text=page))
        document = importing.document_import(
            project=self.project, preview=preview, actor=self.editor
        )
        self.assertEqual((document.language, document.direction), ("ar", "rtl"))


class DocumentLanguageUpdateTests(TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.editor = make_user("editor")
        cls.project = make_project(creator=cls.editor, name="Languages desk")
        cls.reviewer = make_member(cls.project, "rita", Role.REVIEWER)
        cls.document = make_document(
            project=cls.project, actor=cls.editor, text=ENGLISH, language="en"
        )

    def test_a_new_language_brings_its_direction_in_one_event(self) -> None:
        updated = services.document_update(document=self.document, actor=self.editor, language="fa")
        self.assertEqual((updated.language, updated.direction), ("fa", "rtl"))
        event = Event.objects.filter(verb="document.update", object_id=self.document.pk).get()
        self.assertEqual(event.before, {"language": "en", "direction": "ltr"})
        self.assertEqual(event.after, {"language": "fa", "direction": "rtl"})

    def test_a_given_direction_is_kept_and_empty_means_as_the_language_says(self) -> None:
        updated = services.document_update(
            document=self.document, actor=self.editor, language="ar", direction="auto"
        )
        self.assertEqual((updated.language, updated.direction), ("ar", "auto"))
        updated = services.document_update(document=self.document, actor=self.editor, direction="")
        self.assertEqual(updated.direction, "rtl")
        cleared = services.document_update(document=self.document, actor=self.editor, language="")
        self.assertEqual((cleared.language, cleared.direction), ("", "auto"))

    def test_it_refuses_a_bad_tag_and_writes_nothing(self) -> None:
        with self.assertRaises(ValidationError) as caught:
            services.document_update(document=self.document, actor=self.editor, language="Farsi")
        self.assertIn("language", caught.exception.message_dict)
        self.document.refresh_from_db()
        self.assertEqual((self.document.language, self.document.direction), ("en", "ltr"))
        self.assertFalse(Event.objects.filter(verb="document.update").exists())

    def test_reviewers_cannot_change_it(self) -> None:
        with self.assertRaises(PermissionDenied):
            services.document_update(document=self.document, actor=self.reviewer, language="ar")


class UnspacedScriptSearchTests(TestCase):
    """Runs on both databases: the substring path is the same SQL function family
    (strpos on PostgreSQL, instr on SQLite)."""

    @classmethod
    def setUpTestData(cls) -> None:
        cls.editor = make_user("editor")
        cls.project = make_project(creator=cls.editor, name="Search desk")
        cls.chinese = make_document(
            project=cls.project, actor=cls.editor, title="失业率", text=CHINESE
        )
        cls.japanese = make_document(
            project=cls.project, actor=cls.editor, title="Japan", text=JAPANESE
        )
        cls.english = make_document(
            project=cls.project, actor=cls.editor, title="Jobs", text=ENGLISH
        )
        other = make_project(creator=cls.editor, name="Other desk")
        make_document(project=other, actor=cls.editor, title="Elsewhere", text=CHINESE)

    def search(self, query: str) -> set[str]:
        return {
            d.title
            for d in selectors.document_search_for_user(
                user=self.editor, project=self.project, query=query
            )
        }

    def test_it_finds_chinese_and_japanese_substrings(self) -> None:
        cases = [
            ("北京大学", {"失业率"}),  # inside a sentence with no spaces
            ("失业率", {"失业率"}),  # the title, and the text
            ("経済学者", {"Japan"}),
            ("パーセント", {"Japan"}),
            ("失業率", {"Japan"}),  # the Japanese spelling only
            ("经济学家 北京", {"失业率"}),  # every term must occur
            ("北京 東京", set()),
            ("上海", set()),
        ]
        for query, expected in cases:
            with self.subTest(query):
                self.assertEqual(self.search(query), expected)

    def test_cjk_terms_combine_with_word_search_and_exclusion(self) -> None:
        self.assertEqual(self.search("Jobs"), {"Jobs"})
        self.assertEqual(self.search("失业率 Japan"), set())
        self.assertEqual(self.search("-北京"), {"Japan", "Jobs"})

    def test_a_query_of_many_cjk_terms_uses_only_the_first_few(self) -> None:
        terms = ["北京", "大学", "经济", "失业", "上海", "广州"]
        self.assertEqual(self.search(" ".join(terms)), {"失业率"})  # the 5th and 6th unused
