"""Filters for report templates: defanged indicators and heat-map shades."""

import re

from django import template

register = template.Library()

_SCHEME = re.compile(r"^http", re.IGNORECASE)


@register.filter
def defang(value: str) -> str:
    """An indicator made safe to print and impossible to click: hxxps://example[.]org/path."""
    text = _SCHEME.sub("hxxp", str(value or ""))
    head, sep, tail = text.partition("://")
    if sep:
        host, slash, path = tail.partition("/")
        return f"{head}{sep}{host.replace('.', '[.]')}{slash}{path}"
    return text.replace(".", "[.]")


@register.filter
def heat(count: int, maximum: int) -> int:
    """A shade from 0 (none) to 4 (the most frequent) for a heat-map cell."""
    if not count or not maximum:
        return 0
    return min(4, 1 + (3 * (count - 1)) // max(1, maximum - 1)) if maximum > 1 else 4


@register.filter
def thousands(value) -> str:
    """12345 as '12,345'; a missing figure as a dash."""
    if value is None or value == "":
        return "—"
    try:
        return f"{int(value):,}"
    except (TypeError, ValueError):
        return str(value)
