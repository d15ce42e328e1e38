"""Suite-wide test setup: fast password hashing and the PostgreSQL marker."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import connection


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if connection.vendor == "postgresql":
        return
    skip = pytest.mark.skip(
        reason=f"needs PostgreSQL (row locks, SKIP LOCKED, real concurrency); this run uses "
        f"{connection.vendor} - set DATABASE_URL=postgres://... or run ./wb test with PostgreSQL up"
    )
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hasher() -> None:
    # Test-only speed-up; production hashing is untouched.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
