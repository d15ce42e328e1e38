"""Finding passages for re-anchoring by hand (``annotations/core/passages.py``): exact
occurrences with offsets and context, the limit, and the nearest passages as a fallback.
"""

from __future__ import annotations

from django.test import TestCase

from annotations.core import passages
from tests.services.revision_base import NEW, QUOTES


class FindPassagesTests(TestCase):
    def test_it_lists_exact_occurrences_with_offsets_and_context(self) -> None:
        found = passages.find_passages(NEW, "claim")
        self.assertEqual([NEW[p.start : p.end] for p in found], ["claim"] * len(found))
        self.assertEqual(len(found), 2)
        self.assertTrue(all(p.is_exact for p in found))
        self.assertTrue(found[0].before.endswith("nobody will "))

    def test_it_stops_at_the_limit(self) -> None:
        self.assertEqual(len(passages.find_passages("ab " * 50, "ab", limit=20)), 20)

    def test_it_falls_back_to_the_nearest_passages(self) -> None:
        found = passages.find_passages(NEW, QUOTES["c"])
        self.assertTrue(found)
        best = found[0]
        self.assertFalse(best.is_exact)
        self.assertIn("bridge cost $3 billion", best.exact)
        self.assertEqual(NEW[best.start : best.end], best.exact)

    def test_it_finds_nothing_for_an_empty_or_unrelated_query(self) -> None:
        self.assertEqual(passages.find_passages(NEW, "   "), [])
        self.assertEqual(passages.find_passages(NEW, "zebra quokka"), [])
