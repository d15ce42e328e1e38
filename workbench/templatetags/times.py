"""``{{ moment|when }}``: a datetime as ``<time>``, readable in any time zone.

The text is the moment in UTC, labelled "UTC" (what a reader without JavaScript sees);
``datetime`` and ``title`` carry the ISO 8601 form, so hovering shows the exact instant;
``workbench.js`` rewrites the text to the browser's own time zone
(``Intl.DateTimeFormat``). The site's ``TIME_ZONE`` plays no part: a desk spread over
time zones reads one unambiguous label, then each browser its own local time.
"""

from __future__ import annotations

import datetime as dt

from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

register = template.Library()


def iso_utc(value: dt.datetime) -> str:
    """``value`` in UTC as ISO 8601 to the second, with ``Z``."""
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    return value.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@register.filter
def when(value: object) -> SafeString | str:
    """A datetime as ``<time datetime="…Z" title="…Z" data-local-time>YYYY-MM-DD HH:MM
    UTC</time>``; anything else (None, "") as an empty string."""
    if not isinstance(value, dt.datetime):
        return ""
    iso = iso_utc(value)
    label = f"{iso[:10]} {iso[11:16]} UTC"
    return format_html('<time datetime="{}" title="{}" data-local-time>{}</time>', iso, iso, label)
