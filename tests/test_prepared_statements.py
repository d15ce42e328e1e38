"""PostgreSQL connections bind parameters on the server and prepare what they repeat
(workbench/settings.py: DB_SERVER_SIDE_BINDING, DB_PREPARE_THRESHOLD)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from annotations.models import Project

ROOT = Path(__file__).resolve().parent.parent

SETTINGS_PROBE = """
import json, workbench.settings as s
options = s.DATABASES["default"]["OPTIONS"]
found = {k: v for k, v in options.items() if k in ("server_side_binding", "prepare_threshold")}
if "cursor_factory" in options:
    factory = options["cursor_factory"]
    found["cursor_factory"] = f"{factory.__module__}.{factory.__qualname__}"
if "pool" in options:
    check = options["pool"]["check"]
    found["pool_check"] = f"{check.__module__}.{check.__name__}"
print(json.dumps(found))
"""


def database_options(**env: str) -> dict[str, object]:
    """The database OPTIONS the settings module builds for a PostgreSQL URL and ``env``,
    read in a fresh interpreter (and the pool's check, by name, when there is a pool)."""
    environ = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "DB_", "DATABASE_"))
    }
    environ.update(
        DJANGO_SETTINGS_MODULE="workbench.settings",
        DEBUG="1",
        DATABASE_URL="postgres://nobody@127.0.0.1:1/none",  # read, never connected to
        **env,
    )
    result = subprocess.run(  # noqa: S603 - this interpreter, a fixed script
        [sys.executable, "-c", SETTINGS_PROBE],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    options: dict[str, object] = json.loads(result.stdout.strip().splitlines()[-1])
    return options


@pytest.mark.db_independent
def test_by_default_parameters_are_bound_on_the_server_and_statements_prepared() -> None:
    # annotations.dbcursor: Django's server-binding cursor that leaves the queue's pick
    # unprepared
    cursor = {"cursor_factory": "annotations.dbcursor.Cursor"}
    assert database_options() == {"server_side_binding": True, "prepare_threshold": 2, **cursor}
    assert database_options(DB_PREPARE_THRESHOLD="0") == {
        "server_side_binding": True,
        "prepare_threshold": 0,
        **cursor,
    }


@pytest.mark.db_independent
def test_preparing_and_server_binding_can_be_switched_off() -> None:
    # a pooler in transaction mode: bound on the server, never prepared
    assert database_options(DB_PREPARE_THRESHOLD="-1") == {
        "server_side_binding": True,
        "prepare_threshold": None,
        "cursor_factory": "annotations.dbcursor.Cursor",
    }
    # psycopg's client-side binding, as before
    assert database_options(DB_SERVER_SIDE_BINDING="0") == {}


@pytest.mark.postgres("prepared statements are PostgreSQL's")
@pytest.mark.django_db
def test_a_repeated_query_is_prepared_on_its_connection() -> None:
    def prepared() -> list[str]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT statement FROM pg_prepared_statements")
            return [row[0] for row in cursor.fetchall() if "annotations_project" in row[0]]

    assert prepared() == []
    for pk in (1, 2, 3, 4):
        # the same text every time: the id travels apart from it, as $1
        assert list(Project.objects.filter(pk=pk).values_list("pk")) == []
    (statement,) = prepared()
    assert '"annotations_project"."id" = $1' in statement
