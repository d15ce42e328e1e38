"""What the command tests share: ``run`` calls a management command and returns what it
printed.
"""

from __future__ import annotations

from io import StringIO

from django.core.management import call_command


def run(command: str, *args: str, **options: object) -> str:
    out = StringIO()
    call_command(command, *args, stdout=out, stderr=StringIO(), **options)
    return out.getvalue()
