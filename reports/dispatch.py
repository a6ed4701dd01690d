"""How the reports' writes hand a build to a worker without importing the task that calls them (tasks -> services).

`ReportsConfig.ready` installs the sender; the service calls it once its transaction commits.
"""

from __future__ import annotations

from collections.abc import Callable

BuildSender = Callable[[str, str, str, str], None]  # scope, start, end, audience

_installed: BuildSender | None = None


def build_sender_install(sender: BuildSender) -> None:
    global _installed
    _installed = sender


def build_send(scope: str, start: str, end: str, audience: str) -> None:
    if _installed is None:
        raise RuntimeError("No report build sender installed: ReportsConfig.ready() installs reports.tasks'.")
    _installed(scope, start, end, audience)
