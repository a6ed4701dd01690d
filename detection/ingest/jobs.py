"""The import job: a sample file streamed in batches into the sample's records, every rejected row recorded.

`sample_import_run` reads the file (`batches.read_batches`, in a child process for a large file), hands each
batch to the database's `BatchWriter` (PostgreSQL: `PgCopyWriter`; any other: `OrmWriter`) and commits it with
the job's checkpoint and counters, so a rerun resumes after the last batch committed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Q
from django.utils import timezone

from campaigns.vocabularies import Platform
from detection.engine.readers import detect_format, unknown_columns
from detection.engine.records import SampleFileError
from detection.ingest.batches import ACCOUNT_FORMATS, Batch, read_batches
from detection.ingest.orm_writer import OrmWriter
from detection.ingest.pg_writer import PgCopyWriter
from detection.ingest.reader_process import batches_from_child
from detection.ingest.writers import BatchWriter
from detection.models import ImportStatus, Post, RejectedRow, Sample, SampleImport, SampleStatus

BATCH_ROWS = 20_000
RAW_CAP = 300


@dataclass
class BatchCounts:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    duplicates: int = 0
    accounts: int = 0


def _path(job: SampleImport) -> str:
    return job.file.path if job.file else job.source_path


def sample_import_run(*, import_id: int, progress: Callable[[int, int], None] | None = None) -> SampleImport | None:
    """Run (or resume) an import job: stream the file, store good rows in batches, record every rejected row;
    `progress(bytes_done, rows_done)` is called after each batch commits.

    Safe to run twice or after a crash: each batch commits with the job's checkpoint, so a rerun skips the
    rows already committed and the upserts make any replay a no-op.
    """
    job = SampleImport.objects.select_related("sample").filter(pk=import_id).first()
    if job is None or job.status == ImportStatus.DONE:
        return job
    SampleImport.objects.filter(pk=job.pk).update(
        status=ImportStatus.RUNNING, attempts=job.attempts + 1, started_at=job.started_at or timezone.now()
    )
    Sample.objects.filter(pk=job.sample_id).update(status=SampleStatus.IMPORTING)
    job.refresh_from_db()
    try:
        path = _path(job)
        job.bytes_total = Path(path).stat().st_size
        _consume(job, job.format or detect_format(path), progress)
    except (SampleFileError, ValueError, UnicodeError, OSError) as exc:
        _finish(job, ImportStatus.FAILED, error=str(exc))
        return job
    _finish(job, ImportStatus.DONE)
    return job


def _consume(job: SampleImport, fmt: str, progress) -> None:
    ignored = unknown_columns(_path(job), fmt)
    if job.format != fmt or job.unknown_columns != ignored:
        job.format, job.unknown_columns = fmt, ignored
        SampleImport.objects.filter(pk=job.pk).update(format=fmt, bytes_total=job.bytes_total, unknown_columns=ignored)
    writer = batch_writer(sample_id=job.sample_id)
    options = {
        "path": _path(job),
        "fmt": fmt,
        "platform": job.platform or None,
        "max_inflated_bytes": settings.SAMPLE_MAX_INFLATED_BYTES,
        "max_inflation_ratio": settings.SAMPLE_MAX_INFLATION_RATIO,
        "skip_rows": job.rows_done,
        "batch_rows": BATCH_ROWS,
        "copy_text": writer.copy_text,
    }
    in_child = job.bytes_total >= settings.SAMPLE_IMPORT_CHILD_PROCESS_BYTES
    batches = batches_from_child(**options) if in_child else read_batches(**options)
    for batch in batches:
        _commit(job, batch, writer)
        if progress:
            progress(batch.bytes_done, job.rows_done)
    job.refresh_from_db()


def batch_writer(*, sample_id: int) -> BatchWriter:
    """The writer for this database and sample: COPY on PostgreSQL, the ORM on any other."""
    return PgCopyWriter(sample_id) if connection.vendor == "postgresql" else OrmWriter(sample_id)


def _commit(job: SampleImport, batch: Batch, writer: BatchWriter) -> None:
    if not batch.rows and not batch.accounts:
        return
    for attempt in range(2):
        try:
            with transaction.atomic():
                counts = _store(job, batch, writer)
                job.rows_done += batch.rows
                job.bytes_done = batch.bytes_done
                job.inserted += counts.inserted
                job.updated += counts.updated
                job.unchanged += counts.unchanged
                job.rejected += counts.rejected
                job.duplicates += counts.duplicates
                job.accounts_seen += counts.accounts
                job.save(update_fields=[*SampleImport.COUNTERS, "bytes_done"])
            writer.committed()
            return
        except IntegrityError:
            # Another import inserted some of the same keys between our read and our write; read again.
            job.refresh_from_db()
            if attempt:
                raise


def _store(job: SampleImport, batch: Batch, writer: BatchWriter) -> BatchCounts:
    """Write a batch among the sample's own records and its rejected rows; returns the job's counts for it."""
    counts = BatchCounts(rejected=len(batch.errors), duplicates=batch.duplicates, accounts=batch.accounts_named)
    written = writer.write(batch)
    counts.inserted, counts.updated = written.accounts if job.format in ACCOUNT_FORMATS else written.posts
    counts.unchanged = batch.rows - counts.rejected - counts.inserted - counts.updated
    RejectedRow.objects.bulk_create(
        [
            RejectedRow(sample_import=job, line=e.line, field=e.field[:100], reason=e.reason, raw=e.raw[:RAW_CAP])
            for e in batch.errors
        ],
        ignore_conflicts=True,
    )
    return counts


def _finish(job: SampleImport, status: str, error: str = "") -> None:
    SampleImport.objects.filter(pk=job.pk).update(status=status, error=error[:5000], finished_at=timezone.now())
    job.status, job.error = status, error
    sample_counts_refresh(sample_id=job.sample_id)


def sample_counts_refresh(*, sample_id: int) -> None:
    """Recount a sample's posts, accounts and platforms, and set its status from its imports (idempotent)."""
    # One pass over the sample's posts (a second one for the platforms took as long again): a count per
    # platform of the controlled vocabulary, which is every platform the readers let through.
    per_platform = {f"on_{p}": Count("pk", filter=Q(platform=p)) for p in Platform.values}
    summary = Post.objects.filter(samples__pk=sample_id).aggregate(
        n=Count("pk"), accounts=Count("account", distinct=True), **per_platform
    )
    platforms = sorted(p for p in Platform.values if summary[f"on_{p}"])
    statuses = set(SampleImport.objects.filter(sample_id=sample_id).values_list("status", flat=True))
    if ImportStatus.RUNNING in statuses or ImportStatus.QUEUED in statuses:
        status = SampleStatus.IMPORTING
    elif ImportStatus.FAILED in statuses and not summary["n"]:
        status = SampleStatus.FAILED
    else:
        status = SampleStatus.READY if summary["n"] else SampleStatus.EMPTY
    Sample.objects.filter(pk=sample_id).update(
        posts_count=summary["n"], accounts_count=summary["accounts"], platforms=platforms, status=status
    )
