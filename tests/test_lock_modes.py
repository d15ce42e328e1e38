"""Every row lock in the app says which PostgreSQL lock it takes (docs/design.md, "Row locks").

A plain ``select_for_update()`` takes ``FOR UPDATE``, which conflicts with the
``FOR KEY SHARE`` a deferred foreign key check takes at COMMIT: a writer holding it while
it waits for the audit chain's head deadlocks with a writer that holds the head and
inserted a row naming the locked one (``tests/test_fk_lock_concurrency.py``). So each
``select_for_update`` call in ``annotations/`` passes ``no_key`` (True, or False where the
transaction deletes the row or changes a unique key of it), and no SQL written by hand
says ``FOR UPDATE``. The source is read, nothing is run.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.db_independent

APP = Path(__file__).resolve().parent.parent / "annotations"
# "FOR UPDATE" not preceded by "NO KEY " (FOR NO KEY UPDATE passes).
_PLAIN_FOR_UPDATE = re.compile(r"(?<!NO KEY )\bFOR\s+UPDATE\b", re.IGNORECASE)


def lock_problems(source: str, name: str) -> list[str]:
    """``name:line: why`` for each ``select_for_update`` call without ``no_key`` and each
    string (docstrings aside) holding a plain ``FOR UPDATE`` in ``source``."""
    tree = ast.parse(source)
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    problems: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "select_for_update"
            and not any(keyword.arg == "no_key" for keyword in node.keywords)
        ):
            problems.append((node.lineno, "select_for_update() without no_key="))
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in docstrings
            and _PLAIN_FOR_UPDATE.search(node.value)
        ):
            problems.append((node.lineno, "FOR UPDATE in SQL (FOR NO KEY UPDATE?)"))
    return [f"{name}:{line}: {why}" for line, why in sorted(problems)]


def test_every_lock_of_the_app_names_its_mode() -> None:
    problems = [
        problem
        for path in sorted(APP.rglob("*.py"))
        if "migrations" not in path.parts
        for problem in lock_problems(path.read_text(), str(path.relative_to(APP.parent)))
    ]
    assert problems == []


def test_it_finds_a_plain_lock_and_hand_written_sql() -> None:
    source = '''
def f():
    """A docstring may say FOR UPDATE."""
    claims.select_for_update().get(pk=1)
    claims.select_for_update(of=("self",), no_key=True).get(pk=1)
    ratings.select_for_update(no_key=False).get(pk=1)
    cursor.execute("SELECT id FROM t WHERE id = %s FOR UPDATE SKIP LOCKED")
    cursor.execute(f"SELECT id FROM {t} for update")
    cursor.execute("SELECT id FROM t FOR NO KEY UPDATE OF t")
'''
    assert lock_problems(source, "m.py") == [
        "m.py:4: select_for_update() without no_key=",
        "m.py:7: FOR UPDATE in SQL (FOR NO KEY UPDATE?)",
        "m.py:8: FOR UPDATE in SQL (FOR NO KEY UPDATE?)",
    ]
