"""The server's own time for every page of the workspace, as a Server-Timing header (developer tools show it).

Only under /admin/: the partner API answers a hidden object and a missing one alike, and a header stating how
long each took would only help tell them apart.
"""

import time


class ServerTimingMiddleware:
    """Adds `Server-Timing: app;dur=<ms>` to the admin's responses: the time from here to the response."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith("/admin/"):
            return self.get_response(request)
        started = time.perf_counter()
        response = self.get_response(request)
        response["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
        return response
