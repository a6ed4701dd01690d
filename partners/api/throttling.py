"""Rates per organisation (all its keys and people together), per researcher, or per address when anonymous."""

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from partners.addresses import client_address

from .authentication import principal_of


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
