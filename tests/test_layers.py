"""The import contracts (``[tool.importlinter]`` in pyproject.toml) hold, and they bite.

``./wb lint`` runs ``lint-imports`` on the tree. These tests run it too: once on the real
tree, which keeps every contract, and then on a throwaway copy of the tree with one
forbidden import added, which must break the contract that names the rule.
No Django, no database: the checker reads the source.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

ROOT = Path(__file__).resolve().parent.parent

CORE = "Pure core: annotations.core imports no Django and nothing of the app"
LAYERS = "Layers: interfaces -> services -> selectors -> access -> models -> core"
UI_API = "The UI (workbench.ui) and the API (annotations.api) are independent"
NOT_WORKBENCH = "The annotations app never imports the workbench project"
MIGRATIONS = "Migrations import nothing of the app but annotations.models"
CONTRACTS = (CORE, LAYERS, UI_API, NOT_WORKBENCH, MIGRATIONS)


def _lint_imports_command() -> list[str]:
    if importlib.util.find_spec("importlinter") is None:
        pytest.skip("import-linter is not installed (pip install -e '.[dev]', or ./wb setup)")
    return [sys.executable, "-c", "from importlinter.cli import lint_imports_command as c; c()"]


def _lint_imports(cwd: Path) -> tuple[int, str]:
    """Run lint-imports in ``cwd`` (its pyproject.toml, its packages) with no cache."""
    result = subprocess.run(  # noqa: S603 - a fixed command on our own tree
        [*_lint_imports_command(), "--no-cache", "--no-logo"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    # Long contract names wrap at 80 columns: compare on single spaces.
    return result.returncode, " ".join((result.stdout + result.stderr).split())


def _tree_copy(tmp_path: Path) -> Path:
    """The packages and pyproject.toml, copied: enough for lint-imports, nothing else."""
    copy = tmp_path / "tree"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "templates", "static", "schemas")
    for package in ("annotations", "workbench"):
        shutil.copytree(ROOT / package, copy / package, ignore=ignore)
    shutil.copy(ROOT / "pyproject.toml", copy / "pyproject.toml")
    return copy


def _append(path: Path, line: str) -> None:
    """Add a forbidden import at the end of ``path`` (a module or a package's __init__)."""
    if path.is_dir():
        path = path / "__init__.py"
    assert path.exists(), path
    with path.open("a", encoding="utf-8") as handle:
        handle.write(f"\n{line}\n")


def test_the_real_tree_keeps_every_contract() -> None:
    status, output = _lint_imports(ROOT)
    assert status == 0, output
    for name in CONTRACTS:
        assert f"{name} KEPT" in output
    assert f"Contracts: {len(CONTRACTS)} kept, 0 broken." in output


# (module that gets the import, the import, contracts it must break, a line of the report)
VIOLATIONS = [
    pytest.param(
        "annotations/core/spans.py",
        "from django.db import models",
        [CORE],
        "annotations.core.spans -> django",
        id="core-imports-django",
    ),
    pytest.param(
        "annotations/core/consensus.py",
        "from rest_framework import serializers",
        [CORE],
        "annotations.core.consensus -> rest_framework",
        id="core-imports-drf",
    ),
    pytest.param(
        "annotations/core/urlnorm.py",
        "from annotations import models",
        [CORE, LAYERS],
        "annotations.core.urlnorm -> annotations.models",
        id="core-imports-the-models",
    ),
    pytest.param(
        "workbench/ui/forms.py",
        "from annotations.api import serializers",
        [LAYERS, UI_API],
        "workbench.ui.forms -> annotations.api.serializers",
        id="ui-imports-the-api",
    ),
    pytest.param(
        "annotations/api/views/claims.py",
        "from workbench.ui import reading",
        [LAYERS, UI_API, NOT_WORKBENCH],
        "annotations.api.views.claims -> workbench.ui.reading",
        id="api-imports-the-ui",
    ),
    pytest.param(
        "annotations/selectors",
        "from annotations.services import limits",
        [LAYERS],
        "annotations.selectors -> annotations.services.limits",
        id="selectors-import-the-services",
    ),
    pytest.param(
        "annotations/access.py",
        "from annotations import selectors",
        [LAYERS],
        "annotations.access -> annotations.selectors",
        id="access-imports-the-selectors",
    ),
    pytest.param(
        "annotations/models.py",
        "from annotations import access",
        [LAYERS],
        "annotations.models -> annotations.access",
        id="models-import-access",
    ),
    pytest.param(
        "annotations/services/limits.py",
        "from workbench import settings",
        [NOT_WORKBENCH],
        "annotations.services.limits -> workbench.settings",
        id="services-import-workbench",
    ),
    pytest.param(
        "annotations/migrations/0001_initial.py",
        "from annotations.services import limits",
        [MIGRATIONS],
        "annotations.migrations.0001_initial -> annotations.services.limits",
        id="migration-imports-the-services",
    ),
]


@pytest.mark.parametrize(("module", "line", "broken", "report"), VIOLATIONS)
def test_a_forbidden_import_breaks_its_contract(
    tmp_path: Path, module: str, line: str, broken: list[str], report: str
) -> None:
    tree = _tree_copy(tmp_path)
    _append(tree / module, line)

    status, output = _lint_imports(tree)

    assert status != 0, output
    for name in CONTRACTS:
        verdict = "BROKEN" if name in broken else "KEPT"
        assert f"{name} {verdict}" in output, (name, verdict, output)
    assert report in output, output


def test_the_type_checker_settings_refuse_to_serve() -> None:
    """mypy's Django plugin reads workbench.settings_typecheck (DEBUG on, no SECRET_KEY
    needed); outside mypy they refuse to load, so nobody serves with them."""
    assert "mypy_django_plugin" not in sys.modules
    with pytest.raises(ImproperlyConfigured, match="for mypy only"):
        importlib.import_module("workbench.settings_typecheck")
