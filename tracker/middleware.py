"""The server's own time for every response, as a Server-Timing header (browsers' developer tools show it)."""

import time


class ServerTimingMiddleware:
    """Adds `Server-Timing: app;dur=<ms>`: the time from this middleware to the response, database included."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        response["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
        return response
