"""Every row lock in the app says which PostgreSQL lock it takes (docs/design.md, "Row locks").

A plain ``select_for_update()`` takes ``FOR UPDATE``, which conflicts with the
``FOR KEY SHARE`` a deferred foreign key check takes at COMMIT: a writer holding it while
it waits for the audit chain's head deadlocks with a writer that holds the head and
inserted a row naming the locked one (``tests/test_fk_lock_concurrency.py``). So each
``select_for_update`` call in ``annotations/`` passes ``no_key`` (True, or False where the
transaction deletes the row or changes a unique key of it), and no SQL written by hand
says ``FOR UPDATE``. A lock that may be ``FOR UPDATE`` (``no_key`` anything but ``True``)
comes after the audit chain's lock in its function (``chain_lock``: the lock order,
``tests/test_lock_order_concurrency.py``), unless it is one of ``BEFORE_THE_HEAD``, the
rows no foreign key names. The source is read, nothing is run.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.db_independent

APP = Path(__file__).resolve().parent.parent / "annotations"
# (module, function) of the FOR UPDATE locks taken before the chain's head, and why they
# cannot deadlock with a commit's foreign key check (said where each is taken).
BEFORE_THE_HEAD = {
    ("annotations/services/projects.py", "_admins_locked"): "no foreign key names a membership",
    ("annotations/services/projects.py", "member_remove"): "no foreign key names a membership",
    ("annotations/services/calibration.py", "gold_unmark"): "no foreign key names a gold mark",
}
# "FOR UPDATE" not preceded by "NO KEY " (FOR NO KEY UPDATE passes).
_PLAIN_FOR_UPDATE = re.compile(r"(?<!NO KEY )\bFOR\s+UPDATE\b", re.IGNORECASE)


def _is_true(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is True


def _calls_chain_lock(node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and (
        (isinstance(node.func, ast.Name) and node.func.id == "chain_lock")
        or (isinstance(node.func, ast.Attribute) and node.func.attr == "chain_lock")
    )


def _functions(tree: ast.AST) -> dict[int, ast.FunctionDef | ast.AsyncFunctionDef]:
    """The innermost function around each node of ``tree`` (by ``id``)."""
    around: dict[int, ast.FunctionDef | ast.AsyncFunctionDef] = {}

    def visit(node: ast.AST, function: ast.FunctionDef | ast.AsyncFunctionDef | None) -> None:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            function = node
        if function is not None:
            around[id(node)] = function
        for child in ast.iter_child_nodes(node):
            visit(child, function)

    visit(tree, None)
    return around


def _strong_lock_problem(
    call: ast.Call, functions: dict[int, ast.FunctionDef | ast.AsyncFunctionDef], name: str
) -> str | None:
    """Why the ``select_for_update`` ``call``, which may take ``FOR UPDATE``, breaks the
    lock order; None if its function (not one inside it) locked the chain's head before
    it, or if it is one of ``BEFORE_THE_HEAD``."""
    function = functions.get(id(call))
    if function is None:
        return "FOR UPDATE outside a function (chain_lock first)"
    if (name, function.name) in BEFORE_THE_HEAD:
        return None
    before = [
        node
        for node in ast.walk(function)
        if _calls_chain_lock(node)
        and functions.get(id(node)) is function
        and (node.lineno, node.col_offset) < (call.lineno, call.col_offset)
    ]
    return None if before else f"FOR UPDATE without chain_lock() before it in {function.name}()"


def lock_problems(source: str, name: str) -> list[str]:
    """``name:line: why`` for each ``select_for_update`` call without ``no_key``, each one
    that may take ``FOR UPDATE`` without the chain's lock before it in its function, and
    each string (docstrings aside) holding a plain ``FOR UPDATE`` in ``source``."""
    tree = ast.parse(source)
    functions = _functions(tree)
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
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "select_for_update"
        ):
            no_key = next(k.value for k in node.keywords if k.arg == "no_key")
            why = None if _is_true(no_key) else _strong_lock_problem(node, functions, name)
            if why is not None:
                problems.append((node.lineno, why))
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
    cursor.execute("SELECT id FROM t WHERE id = %s FOR UPDATE SKIP LOCKED")
    cursor.execute(f"SELECT id FROM {t} for update")
    cursor.execute("SELECT id FROM t FOR NO KEY UPDATE OF t")
'''
    assert lock_problems(source, "m.py") == [
        "m.py:4: select_for_update() without no_key=",
        "m.py:6: FOR UPDATE in SQL (FOR NO KEY UPDATE?)",
        "m.py:7: FOR UPDATE in SQL (FOR NO KEY UPDATE?)",
    ]


def test_a_for_update_lock_comes_after_the_chain_lock() -> None:
    source = """
def ordered(rating):
    lock_project(rating.project_id)
    chain_lock(rating.project_id)
    ratings.select_for_update(no_key=False).get(pk=1)

def head_after(rating):
    ratings.select_for_update(no_key=False).get(pk=1)
    _base.chain_lock(rating.project_id)

def computed(endpoint, deleting):
    def inner():
        chain_lock(endpoint.project_id)
    return endpoints.select_for_update(no_key=not deleting).get(pk=1)

def _admins_locked(project_id):
    return memberships.select_for_update(no_key=False).filter(project_id=project_id)

top = ratings.select_for_update(no_key=False)
"""
    assert lock_problems(source, "annotations/services/projects.py") == [
        "annotations/services/projects.py:8: FOR UPDATE without chain_lock() before it in head_after()",
        "annotations/services/projects.py:14: FOR UPDATE without chain_lock() before it in computed()",
        "annotations/services/projects.py:19: FOR UPDATE outside a function (chain_lock first)",
    ]
    # The exemptions are by module and function: elsewhere the same lock is a problem.
    assert lock_problems(source, "m.py")[2:] == [
        "m.py:17: FOR UPDATE without chain_lock() before it in _admins_locked()",
        "m.py:19: FOR UPDATE outside a function (chain_lock first)",
    ]


def test_every_exemption_names_a_lock_that_is_there() -> None:
    for (module, function), _why in BEFORE_THE_HEAD.items():
        tree = ast.parse((APP.parent / module).read_text())
        found = [
            node
            for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef) and node.name == function
            for call in ast.walk(node)
            if isinstance(call, ast.Call)
            and isinstance(call.func, ast.Attribute)
            and call.func.attr == "select_for_update"
        ]
        assert found, (module, function)
