"""Suite-wide test setup: fast password hashing and the PostgreSQL marker."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.conf import settings
from django.db import connection


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if connection.vendor == "postgresql":
        return
    for item in items:
        marker = item.get_closest_marker("postgres")
        if marker is None:
            continue
        needs = marker.args[0] if marker.args else "row locks, SKIP LOCKED, real concurrency"
        reason = (
            f"needs PostgreSQL ({needs}); this run uses {connection.vendor} - "
            "set DATABASE_URL=postgres://... or run ./wb test with PostgreSQL up"
        )
        item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hasher() -> None:
    # Test-only speed-up; production hashing is untouched.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True, scope="session")
def _evidence_storage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    # Archived copies (WARC files) written by tests go to a temporary folder, never var/.
    from django.test import override_settings

    folder = tmp_path_factory.mktemp("evidence")
    storages = {
        **settings.STORAGES,
        "evidence": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(folder), "base_url": None},
        },
    }
    with override_settings(STORAGES=storages):
        yield
