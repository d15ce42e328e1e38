"""``{{ url|http_url }}``: a user-supplied URL as an ``href``, only if it is http(s).

Every URL a user gives is checked at input (``annotations.core.urlnorm.check_url``), so this is
the second line: a row written some other way (an old import, a database edit) still never
becomes a ``javascript:`` or ``data:`` link. Anything else renders as an empty string, so
write ``{% if x|http_url %}<a href="{{ x|http_url }}">`` and the link simply disappears.
"""

from __future__ import annotations

from django import template

from annotations.core.urlnorm import UrlError, check_url

register = template.Library()


@register.filter
def http_url(value: object) -> str:
    if not isinstance(value, str) or not value:
        return ""
    try:
        return check_url(value)
    except UrlError:
        return ""
