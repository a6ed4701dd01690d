"""Leases on the steps of a scoring run: prepare, each shard, and the reduce.

A worker that starts a step holds its lease: the step's ledger row says until when (`lease_expires_at`), and a
thread in the worker renews it every quarter of SCORING_LEASE_SECONDS through a database connection of its own.
On PostgreSQL that connection also holds an advisory lock named after the step, which the database lets go the
moment the worker's process dies, so a step whose lock is free has no live holder even before its lease runs out.
A step is taken over when its lease has run out or its lock is free; the holder's writes name the attempt it
started, so a worker that comes back after losing its step changes nothing.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, connection
from django.utils import timezone

from .models import RunPart, RunShard, ScoringRun, ShardStatus

log = logging.getLogger(__name__)

# Lock keys: this namespace in the top bits, then the run, then the step (a shard number, PART_BASE + a prepare
# part's number, or one of the last two).
LOCK_NAMESPACE = 0x5C0
PART_BASE = 512
PREPARE = 1022
REDUCE = 1023

HELD_LOCKS_SQL = """
SELECT (classid::bigint << 32) | objid::bigint FROM pg_locks
WHERE locktype = 'advisory' AND objsubid = 1 AND granted
  AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
"""


def lease_duration() -> timedelta:
    return timedelta(seconds=settings.SCORING_LEASE_SECONDS)


def lock_key(run_id: int, step: int) -> int:
    return (LOCK_NAMESPACE << 48) | (run_id << 10) | step


def held_lock_keys() -> set[int] | None:
    """The step locks held by live sessions right now; None where the database cannot tell (not PostgreSQL)."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute(HELD_LOCKS_SQL)
        return {key for (key,) in cursor.fetchall()}


class StepLease:
    """This worker's hold on one step of a run, kept alive by a heartbeat thread from entry to exit.

    Enter it before claiming the step: `taken` then tells whether a live worker holds the step already, and
    `start(attempt)` gives the heartbeat and lease times to write with the claim. Exit it after the step's
    result is written: the thread stops and closes its connection, which lets go of the lock.
    """

    def __init__(self, *, run_id: int, step: int, run_status: str = "", part: int | None = None):
        self.run_id = run_id
        self.step = PART_BASE + part if part is not None else step
        self.part = part  # a prepare part's number, its ledger row RunPart
        self.run_status = run_status  # the run's status while it holds prepare or reduce; empty for a shard
        self.attempt: int | None = None
        self.locked = False
        self._tried = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._keep, name=f"lease-{run_id}-{step}", daemon=True)

    def __enter__(self) -> StepLease:
        self._thread.start()
        self._tried.wait(timeout=60)
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=60)

    def taken(self, lease_expires_at: datetime | None) -> bool:
        """Whether another worker holds the step: its lease runs and its session still holds the lock."""
        return lease_expires_at is not None and lease_expires_at > timezone.now() and not self.locked

    def start(self, attempt: int) -> tuple[datetime, datetime]:
        """Renew the lease from now on for this attempt; returns the heartbeat and expiry to store with the claim."""
        self.attempt = attempt
        now = timezone.now()
        return now, now + lease_duration()

    def _keep(self) -> None:
        try:
            try:
                self.locked = self._lock()
            finally:
                self._tried.set()
            while not self._stop.wait(settings.SCORING_LEASE_SECONDS / 4):
                attempt = self.attempt
                if attempt is None:
                    continue
                try:
                    self.locked = self.locked or self._lock()
                    if not self._renew():
                        log.info("run %s step %s: attempt %s holds it no more", self.run_id, self.step, attempt)
                        return
                except DatabaseError as exc:
                    log.warning("run %s step %s: lease not renewed: %s", self.run_id, self.step, exc)
        finally:
            connection.close()

    def _lock(self) -> bool:
        if connection.vendor != "postgresql":
            return False
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [lock_key(self.run_id, self.step)])
            return bool(cursor.fetchone()[0])

    def _renew(self) -> bool:
        now = timezone.now()
        times = {"heartbeat_at": now, "lease_expires_at": now + lease_duration()}
        if self.run_status:
            rows = ScoringRun.objects.filter(pk=self.run_id, status=self.run_status, attempts=self.attempt)
            return rows.update(**times) > 0
        if self.part is not None:
            rows = RunPart.objects.filter(
                run_id=self.run_id,
                part=self.part,
                attempts=self.attempt,
                status__in=[ShardStatus.RUNNING, ShardStatus.PENDING],
            )
            return rows.update(status=ShardStatus.RUNNING, **times) > 0
        rows = RunShard.objects.filter(
            run_id=self.run_id,
            shard=self.step,
            attempts=self.attempt,
            status__in=[ShardStatus.RUNNING, ShardStatus.PENDING],
        )
        return rows.update(status=ShardStatus.RUNNING, **times) > 0
