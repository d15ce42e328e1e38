"""bench/read_instructions.py: the reads it counts answer 200 (a refused read would be
counted as cheap), and the total it reads from callgrind's file is the file's."""

from __future__ import annotations

import pytest
from django.test import TestCase

from bench.read_instructions import TOTALS, _reads
from tests.factories import Personas, api_token, make_claim


class CountedReadsTests(Personas, TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.make_personas()
        make_claim(document=cls.document, actor=cls.creator, start=5, end=25)

    def test_the_counted_reads_are_answered(self) -> None:
        _reads(2, 1, self.document.pk, api_token(self.editor))
        with pytest.raises(AssertionError):
            _reads(0, 1, self.document.pk, "0" * 64)  # a 401 stops the count
        with pytest.raises(AssertionError):
            _reads(0, 1, self.document.pk, api_token(self.outsider))  # a 404 too


@pytest.mark.db_independent
def test_the_total_is_read_from_callgrinds_file() -> None:
    header = "version: 1\ncreator: callgrind-3.19.0\ncmd: python\nevents: Ir\nsummary: 7658657342\n"
    found = TOTALS.search(header)
    assert found is not None and int(found.group(1)) == 7_658_657_342
    assert TOTALS.search("events: Ir\ntotals: 12\n").group(1) == "12"  # type: ignore[union-attr]
