"""Rates per organisation (all its keys and people together), per researcher, or per address when anonymous;
and, before any of that, refusals per address."""

import math
import time

from django.conf import settings
from django.core.cache import cache
from rest_framework.throttling import SimpleRateThrottle

from partners.addresses import client_address

from .authentication import principal_of

PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}  # DRF's rate syntax: 20/minute, 5/second, ...


class OrganisationRateThrottle(SimpleRateThrottle):
    scope = "partner"

    def get_rate(self) -> str:
        return settings.PARTNER_API_RATE

    def allow_request(self, request, view) -> bool:
        principal = principal_of(request)
        self.rate = settings.PARTNER_API_RATE if principal.is_authenticated else settings.PARTNER_API_ANONYMOUS_RATE
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request, view) -> str:
        principal = principal_of(request)
        if principal.is_researcher:
            ident = f"researcher-{principal.user_id}"
        elif principal.is_authenticated:
            ident = f"org-{principal.organisation_id}"
        else:
            ident = f"addr-{client_address(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


def _refusal_window(request) -> tuple[str, int, float]:
    """The cache key of this request's address in the current window, the window's limit and its seconds left."""
    count, period = settings.PARTNER_API_REFUSAL_RATE.split("/")
    limit, duration = int(count), PERIODS[period[0]]
    now = time.time()
    start = int(now // duration) * duration
    return f"api-refusals:{client_address(request)}:{start}", limit, start + duration - now


def refusals_wait(request) -> int | None:
    """Seconds until this request's address may be refused again, when it has used up its refusals; else None."""
    key, limit, left = _refusal_window(request)
    return math.ceil(left) if cache.get(key, 0) >= limit else None


def refusal_count(request) -> None:
    """Count one refusal (401) against this request's address, atomically in the cache."""
    key, _, left = _refusal_window(request)
    if not cache.add(key, 1, timeout=math.ceil(left) + 1):
        try:
            cache.incr(key)
        except ValueError:  # expired between the two calls
            cache.add(key, 1, timeout=math.ceil(left) + 1)
