"""How detection's writes hand work to its workers, without importing the tasks that call them.

The services and the scoring ledger record work in the database and then name the step that carries it on;
`detection.tasks` supplies the workers that run each step (Celery) and `DetectionConfig.ready` installs them, so
the arrows point one way: tasks -> services, scoring -> dispatch.
"""

from __future__ import annotations

from typing import Protocol


class Workers(Protocol):
    """The steps a worker runs, each sent as soon as it is called (callers wait for their commit first)."""

    def sample_import(self, import_id: int) -> None: ...

    def score_prepare(self, run_id: int) -> None: ...

    def score_parts(self, run_id: int, parts: list[int]) -> None: ...

    def score_shards(self, run_id: int, shards: list[int]) -> None: ...

    def score_reduce(self, run_id: int) -> None: ...

    def narratives_cluster(self, run_id: int) -> None: ...


_installed: Workers | None = None


def workers_install(workers: Workers) -> None:
    """Make `workers` run every step sent from now on, in place of any installed before."""
    global _installed
    _installed = workers


def workers() -> Workers:
    """The installed workers; fails when none are, which means the app registry was never made ready."""
    if _installed is None:
        raise RuntimeError("No detection workers installed: DetectionConfig.ready() installs detection.tasks'.")
    return _installed
