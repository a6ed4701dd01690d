"""Refusals throttled per client address before authentication, so a refused key costs no lookup or audit row."""

from django.http import JsonResponse
from rest_framework import status
from rest_framework.exceptions import Throttled

from .exceptions import error_body
from .throttling import refusal_count, refusals_wait


def _api(request) -> bool:
    match = getattr(request, "resolver_match", None)
    return match is not None and "api" in match.namespaces


class RefusalThrottleMiddleware:
    """An address with PARTNER_API_REFUSAL_RATE refusals (401) in the window gets 429 from the API until it ends."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code == status.HTTP_401_UNAUTHORIZED and _api(request):
            refusal_count(request)
        return response

    def process_view(self, request, view_func, view_args, view_kwargs):
        if not _api(request):
            return None
        wait = refusals_wait(request)
        if wait is None:
            return None
        detail = str(Throttled(wait).detail)
        body = error_body(status.HTTP_429_TOO_MANY_REQUESTS, Throttled.default_code, detail)
        return JsonResponse(body, status=status.HTTP_429_TOO_MANY_REQUESTS, headers={"Retry-After": str(wait)})
