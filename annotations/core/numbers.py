"""How a number given as text must be spelled (pure, no Django): the one rule for the API
(a body's number fields, an id filter, a query's id, ``page_size``, ``If-Match``) and the
web UI's and the admin's number fields, with the one message each.

Python's ``int()`` and ``float()``, under DRF's and Django's number fields, read much
more than a number as JSON and URLs spell it: other scripts' digits (``"٣"``, Arabic-Indic
three, is 3, and so is a full-width three), ``_`` between digits (``"1_000"``), a ``+``,
spaces around the number, and the integer fields first drop a zero decimal part (``"5.0"``
is 5). Such text is refused, in these words, before any field converts it.
"""

from __future__ import annotations

import re

NOT_ASCII_WHOLE_NUMBER = "Enter a whole number in ASCII digits."
NOT_ASCII_NUMBER = "Enter a number in ASCII digits."

# ASCII digits, and a "-" only before a number below zero ("-0" is not one).
_WHOLE_NUMBER = re.compile(r"[0-9]+|-[0-9]*[1-9][0-9]*")


def spelled_as_whole_number(text: str) -> bool:
    """Whether ``text`` spells a whole number as JSON and URLs spell one: ASCII digits,
    with a ``-`` before them for a number below zero only (the field's own range decides
    whether a negative is taken; ``"-0"`` is refused, no sign is needed for it). The one
    rule for a whole number given as text: an API body's integer field, a query or header
    (``whole_number``), an integer field of a UI or admin form. ``"٣"``, a full-width
    three, ``"1_000"``, ``"+5"``, ``" 5"``, ``"5.0"`` and ``"1e1"`` are refused."""
    return _WHOLE_NUMBER.fullmatch(text) is not None


# The widest integer column (a BigAutoField's): a database id is 1 to MAX_ID, and a number
# past it names no row.
MAX_ID = 2**63 - 1

# More digits than any column's number has (2**63 has 19): such a number reads as this,
# with its sign, so no caller converts thousands of digits (``int()`` refuses past 4,300).
_PAST_EVERY_COLUMN = 10**19


def whole_number(text: str) -> int | None:
    """The whole number ``text`` spells (``spelled_as_whole_number``), or None. One past
    19 digits reads as ±10**19: past every column, so the caller's range check refuses it
    (an id, a limit) or caps it (``page_size``)."""
    if not spelled_as_whole_number(text):
        return None
    digits = text.removeprefix("-")
    value = int(digits) if len(digits) <= 19 else _PAST_EVERY_COLUMN
    return -value if text.startswith("-") else value


def spelled_in_ascii(number: str) -> bool:
    """Whether a number given as text for a decimal field (float, decimal) is spelled in
    ASCII, without ``_`` between digits or spaces around it: ``float()`` reads other
    scripts' digits, ``"1_000.5"`` and ``" 0.5"``. What ``float()`` then makes of ASCII
    text (``"+0.5"``, ``"1e-1"``, ``".5"``) is the field's to read. Whole numbers take the
    stricter ``spelled_as_whole_number``."""
    return number.isascii() and "_" not in number and number == number.strip()
