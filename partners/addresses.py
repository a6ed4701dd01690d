"""The client address of a request, read the same way by the API, its audit log and login lockouts."""

from __future__ import annotations

import ipaddress

from django.conf import settings


def client_address(request) -> str | None:
    """REMOTE_ADDR; behind PROXY_COUNT proxies, the X-Forwarded-For entry the outermost of them appended.

    Entries further left were written by the client and are never read; an entry that is not an address
    gives None rather than something the audit log or an allow-list would take for one.
    """
    proxies = settings.PROXY_COUNT
    hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
    if not proxies or len(hops) < proxies:
        return request.META.get("REMOTE_ADDR") or None
    try:
        return str(ipaddress.ip_address(hops[-proxies]))
    except ValueError:
        return None
