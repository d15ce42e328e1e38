"""A web worker does not load the numeric libraries (issue 20, server memory).

Importing the app as a server does (``django.setup``, the ASGI and the WSGI application,
the whole URLconf) must not import numpy, scipy, scikit-learn, krippendorff, warcio and
the like: they cost ~90 MB in every worker and only the calibration statistics, the triage
model, the matching index and page archiving use them, each importing them where it needs
them. The check runs in a fresh interpreter (this test process has loaded them already),
once on the real tree and once on a copy with a module-level import put back, which it
must catch.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Imported lazily, inside the functions that need them; never by importing the app.
LAZY = (
    "numpy",
    "scipy",
    "sklearn",
    "pandas",
    "joblib",
    "krippendorff",
    "warcio",
    "fsspec",
    "py3langid",
)

PROBE = f"""
import json, sys
import django
django.setup()
import workbench.asgi, workbench.wsgi
from django.urls import get_resolver
get_resolver().url_patterns
print(json.dumps({{
    "app": "annotations.api.views" in sys.modules and "workbench.ui.reading" in sys.modules,
    "loaded": sorted(m for m in {LAZY!r} if m in sys.modules),
}}))
"""


def _probe(tree: Path) -> dict[str, object]:
    """Import the app as ``bin/serve`` does (production settings, DEBUG off, the default
    settings otherwise) in a fresh interpreter whose first path entry is ``tree``."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "MATCHING_", "WORKBENCH_"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="workbench.settings",
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="testserver",
        PYTHONPATH=str(tree),
    )
    result = subprocess.run(  # noqa: S603 - this interpreter, a fixed script
        [sys.executable, "-c", PROBE],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    answer: dict[str, object] = json.loads(result.stdout.strip().splitlines()[-1])
    assert answer["app"], "the probe did not import the app's views"
    return answer


def test_importing_the_app_loads_none_of_the_numeric_libraries() -> None:
    assert _probe(ROOT)["loaded"] == []


def test_a_module_level_import_put_back_is_caught(tmp_path: Path) -> None:
    copy = tmp_path / "tree"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "static")
    for package in ("annotations", "workbench"):
        shutil.copytree(ROOT / package, copy / package, ignore=ignore)
    consensus = copy / "annotations" / "core" / "consensus.py"
    source = consensus.read_text()
    consensus.write_text(source.replace("import math\n", "import math\n\nimport krippendorff\n", 1))
    loaded = _probe(copy)["loaded"]
    assert isinstance(loaded, list)
    assert "krippendorff" in loaded and "numpy" in loaded
