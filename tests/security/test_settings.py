"""Production settings (B.6 #14; Label Studio CVE-2023-43791).

Settings are checked the way they run: in a fresh interpreter with only the environment
given. The documented production environment (the ``production-env`` block of
docs/deployment.md) passes ``manage.py check --deploy --fail-level WARNING``; without
DEBUG the app refuses to start with no SECRET_KEY, a ``django-insecure`` key, or one
Django's own check would warn about (under 50 characters or under 5 distinct ones); the static-files storage switches to WhiteNoise's manifest only when asked.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(settings.BASE_DIR)
SETTING_VARIABLES = (
    "DEBUG",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "DATABASE_URL",
    "CSRF_TRUSTED_ORIGINS",
    "BEHIND_TLS_PROXY",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_PRELOAD",
    "SECURE_COOKIES",
    "WORKBENCH_STATIC_MANIFEST",
    "API_TOKEN_TTL_DAYS",
)


def documented_production_env() -> dict[str, str]:
    text = (ROOT / "docs" / "deployment.md").read_text()
    block = re.search(r"```sh production-env\n(.*?)```", text, re.S)
    assert block, "docs/deployment.md has no production-env block"
    env = dict(line.split("=", 1) for line in block.group(1).splitlines() if "=" in line)
    env["SECRET_KEY"] = secrets.token_urlsafe(50)  # the docs hold a placeholder
    return env


def run(args: list[str], env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess:
    # The browser tests set DJANGO_ALLOW_ASYNC_UNSAFE for their own process; a production
    # start never has it (check --deploy rightly refuses it), so it is not passed on.
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in SETTING_VARIABLES and k != "DJANGO_ALLOW_ASYNC_UNSAFE"
    }
    # Checks need no database server: a throwaway SQLite file stands in for PostgreSQL.
    merged = {**base, "DATABASE_URL": f"sqlite:///{tmp_path / 'check.sqlite3'}", **env}
    if env.get("DATABASE_URL", "").startswith("postgres"):
        merged["DATABASE_URL"] = f"sqlite:///{tmp_path / 'check.sqlite3'}"
    return subprocess.run(  # noqa: S603 - our own interpreter and manage.py
        [sys.executable, *args],
        cwd=ROOT,
        env=merged,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_documented_production_environment_passes_check_deploy(tmp_path: Path) -> None:
    env = documented_production_env()
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], env, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_fails_on_the_development_defaults(tmp_path: Path) -> None:
    env = {"DEBUG": "1"}
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], env, tmp_path)
    assert result.returncode != 0
    assert "security.W" in result.stderr + result.stdout


@pytest.mark.parametrize(
    ("key", "message"),
    [
        (None, "SECRET_KEY is not set"),
        ("", "SECRET_KEY is not set"),
        ("django-insecure-" + "x" * 50, "django-insecure"),
        ("short-key", "too short"),
        # Issue 13, finding 5b: 32 to 49 characters passed here while Django's own check
        # (security.W009) wants 50; a random 40-character key is refused now.
        (secrets.token_urlsafe(30), "40 characters"),
        (secrets.token_urlsafe(37)[:49], "49 characters"),
        ("a" * 60, "too repetitive"),
        ("abcd" * 15, "4 distinct"),
    ],
    ids=["missing", "empty", "insecure", "short", "40-chars", "49-chars", "repetitive", "4-unique"],
)
def test_without_debug_the_app_refuses_to_start_without_a_real_key(
    key: str | None, message: str, tmp_path: Path
) -> None:
    env = {**documented_production_env(), "DEBUG": "0"}
    env.pop("SECRET_KEY")
    if key is not None:
        env["SECRET_KEY"] = key
    result = run(["manage.py", "check"], env, tmp_path)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr


def test_a_key_django_accepts_starts_the_app(tmp_path: Path) -> None:
    """The bar is Django's: 50 characters and 5 distinct ones start (and pass W009)."""
    env = {**documented_production_env(), "DEBUG": "0", "SECRET_KEY": "abcde" * 10}
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], env, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_debug_mode_starts_with_a_throwaway_key(tmp_path: Path) -> None:
    result = run(["manage.py", "check"], {"DEBUG": "1"}, tmp_path)
    assert result.returncode == 0, result.stderr


PRINT_SETTINGS = (
    "import django, json; django.setup(); from django.conf import settings as s; "
    "print(json.dumps({'static': s.STORAGES['staticfiles']['BACKEND'], "
    "'hsts': s.SECURE_HSTS_SECONDS, 'ssl': s.SECURE_SSL_REDIRECT, "
    "'proxy': s.SECURE_PROXY_SSL_HEADER, 'cookies': [s.SESSION_COOKIE_SECURE, "
    "s.CSRF_COOKIE_SECURE], 'mw': s.MIDDLEWARE}))"
)


@pytest.mark.parametrize("manifest", ["0", "1"])
def test_the_static_storage_follows_workbench_static_manifest(
    manifest: str, tmp_path: Path
) -> None:
    import json

    env = {
        **documented_production_env(),
        "WORKBENCH_STATIC_MANIFEST": manifest,
        "DJANGO_SETTINGS_MODULE": "workbench.settings",
    }
    result = run(["-c", PRINT_SETTINGS], env, tmp_path)
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout)
    expected = (
        "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if manifest == "1"
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    )
    assert values["static"] == expected
    assert values["hsts"] == 31536000 and values["ssl"] is True
    assert values["proxy"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert values["cookies"] == [True, True]
    assert values["mw"][:2] == [
        "django.middleware.security.SecurityMiddleware",
        "whitenoise.middleware.WhiteNoiseMiddleware",
    ]


def test_bin_serve_runs_the_deploy_check_and_binds_to_localhost() -> None:
    script = (ROOT / "bin" / "serve").read_text()
    assert os.access(ROOT / "bin" / "serve", os.X_OK)
    assert "check --deploy --fail-level WARNING" in script
    assert "WORKBENCH_STATIC_MANIFEST=1" in script
    assert "collectstatic" in script and "migrate" in script
    assert '"${BIND:-127.0.0.1:8000}"' in script
    result = subprocess.run(  # noqa: S603
        ["bash", str(ROOT / "bin" / "serve")],  # noqa: S607
        env={**os.environ, "DEBUG": "1"},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode != 0 and "unset DEBUG" in result.stderr


def test_no_user_file_is_ever_served_from_this_origin() -> None:
    """B.6 #12: there are no uploads to serve (imports become text rows), no MEDIA_URL and no
    ``django.views.static.serve`` route; static files come from WhiteNoise, which serves
    only what collectstatic (or the apps' static folders) holds."""
    from django.urls import get_resolver
    from django.views.static import serve

    assert settings.MEDIA_URL in ("", "/")
    callbacks = {getattr(p, "callback", None) for p in get_resolver().url_patterns}
    assert serve not in callbacks


PRINT_TOKEN_SETTINGS = (
    "import django, json; django.setup(); from django.conf import settings as s; "
    "ttl = s.REST_KNOX['TOKEN_TTL']; "
    "print(json.dumps({'days': s.API_TOKEN_TTL_DAYS, 'knox': ttl and ttl.days, "
    "'sessions': s.SESSION_ENGINE, 'apps': s.INSTALLED_APPS}))"
)


@pytest.mark.parametrize(("value", "days"), [(None, 90), ("30", 30), ("0", 0), ("", 0)])
def test_api_token_ttl_days_comes_from_the_environment(
    value: str | None, days: int, tmp_path: Path
) -> None:
    import json

    env = {"DEBUG": "1", "DJANGO_SETTINGS_MODULE": "workbench.settings"}
    if value is not None:
        env["API_TOKEN_TTL_DAYS"] = value
    result = run(["-c", PRINT_TOKEN_SETTINGS], env, tmp_path)
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout)
    assert (values["days"], values["knox"]) == (days, days or None)
    # "Sign out everywhere" searches a database-backed session store.
    assert values["sessions"] == "django.contrib.sessions.backends.db"
    # DRF's clear-text tokens are gone; knox's hashed ones replace them.
    assert "rest_framework.authtoken" not in values["apps"] and "knox" in values["apps"]


@pytest.mark.parametrize("value", ["-1", "3651", "100000000"])
def test_an_api_token_ttl_days_out_of_range_refuses_to_start(tmp_path: Path, value: str) -> None:
    # 100000000 days overflowed the expiry date: every token exchange answered 500.
    env = {"DEBUG": "1", "API_TOKEN_TTL_DAYS": value}
    result = run(["manage.py", "check"], env, tmp_path)
    assert result.returncode != 0
    assert "API_TOKEN_TTL_DAYS" in result.stderr
