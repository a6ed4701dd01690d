"""Writes of the detection app: samples and their imports."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files import File
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Model, Q
from django.utils import timezone

from campaigns.vocabularies import Platform
from detection.engine.normalise import normalise_text
from detection.engine.readers import detect_format
from detection.engine.records import PostRecord, SampleFileError

from . import dispatch, import_batches, pg_import
from .import_batches import ACCOUNT_FIELDS, ACCOUNT_FORMATS, POST_LISTS, POST_SCALARS, Batch, Key, merged_values
from .models import (
    ImportStatus,
    Post,
    RejectedRow,
    Sample,
    SampleImport,
    SamplePost,
    SampleStatus,
    SocialAccount,
)

BATCH_ROWS = 20_000
RAW_CAP = 300


def sample_create(*, name: str, tlp: str, created_by=None, **fields: Any) -> Sample:
    """A new, empty sample."""
    sample = Sample(name=name, tlp=tlp, created_by=created_by, **fields)
    sample.full_clean()
    sample.save()
    return sample


def sample_import_create(
    *,
    sample: Sample,
    upload: File | None = None,
    source_path: str | os.PathLike | None = None,
    format: str = "",  # noqa: A002 - the name users know
    platform: str = "",
    created_by=None,
) -> SampleImport:
    """Record an import job for an uploaded file or a file on the server; nothing is read yet."""
    if (upload is None) == (source_path is None):
        raise ValueError("Give either an uploaded file or a path on the server.")
    job = SampleImport(sample=sample, format=format, platform=platform, created_by=created_by)
    if upload is not None:
        job.original_name = Path(upload.name or "upload").name[:500]
        job.file.save(job.original_name, upload, save=False)
    else:
        path = Path(source_path)
        if not path.is_file():
            raise FileNotFoundError(f"No such file: {path}")
        job.source_path = str(path.resolve())
        job.original_name = path.name[:500]
    job.save()
    return job


def sample_import_enqueue(*, job: SampleImport) -> None:
    """Queue the import on a worker once the current transaction commits."""
    transaction.on_commit(lambda: dispatch.workers().sample_import(job.pk))


# --- the import job ---------------------------------------------------------------------------------------


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
    """Run (or resume) an import job: stream the file, store good rows in batches, record every rejected row.

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
    if job.format != fmt:
        job.format = fmt
        SampleImport.objects.filter(pk=job.pk).update(format=fmt, bytes_total=job.bytes_total)
    memory = pg_import.ImportMemory() if _is_postgres() else None
    options = {
        "path": _path(job),
        "fmt": fmt,
        "platform": job.platform or None,
        "max_inflated_bytes": settings.SAMPLE_MAX_INFLATED_BYTES,
        "max_inflation_ratio": settings.SAMPLE_MAX_INFLATION_RATIO,
        "skip_rows": job.rows_done,
        "batch_rows": BATCH_ROWS,
        "copy_text": memory is not None,
    }
    in_child = job.bytes_total >= settings.SAMPLE_IMPORT_CHILD_PROCESS_BYTES
    batches = import_batches.batches_from_child(**options) if in_child else import_batches.read_batches(**options)
    for batch in batches:
        _commit(job, batch, memory)
        if progress:
            progress(batch.bytes_done, job.rows_done)
    job.refresh_from_db()


def _post_values(record: PostRecord) -> dict:
    return {
        "platform": record.platform,
        "post_id": record.post_id,
        "account": (record.platform, record.account_id),
        "created_at": record.created_at,
        "text": record.text,
        "text_normalised": normalise_text(record.text) if record.text else "",
        "reshare_of": record.reshare_of,
        "reply_to": record.reply_to,
        "quote_of": record.quote_of,
        "urls": list(record.urls),
        "normalised_urls": list(record.normalised_urls),
        "domains": list(record.domains),
        "hashtags": list(record.hashtags),
        "mentions": list(record.mentions),
        "media_hashes": list(record.media_hashes),
        "lang": record.lang,
    }


def _commit(job: SampleImport, batch: Batch, memory: pg_import.ImportMemory | None) -> None:
    if not batch.rows and not batch.accounts:
        return
    for attempt in range(2):
        try:
            with transaction.atomic():
                counts, stored = _store(job, batch, memory)
                job.rows_done += batch.rows
                job.bytes_done = batch.bytes_done
                job.inserted += counts.inserted
                job.updated += counts.updated
                job.unchanged += counts.unchanged
                job.rejected += counts.rejected
                job.duplicates += counts.duplicates
                job.accounts_seen += counts.accounts
                job.save(update_fields=[*SampleImport.COUNTERS, "bytes_done"])
            if memory is not None:
                memory.learn(stored)
            return
        except IntegrityError:
            # Another import inserted some of the same keys between our read and our write; read again.
            job.refresh_from_db()
            if attempt:
                raise


def _store(
    job: SampleImport, batch: Batch, memory: pg_import.ImportMemory | None
) -> tuple[BatchCounts, pg_import.Stored | None]:
    """Write a batch among the sample's own records; returns its counts and, on PostgreSQL, what the import learns
    from it."""
    counts = BatchCounts(rejected=len(batch.errors), duplicates=batch.duplicates, accounts=batch.accounts_named)
    stored = None
    if batch.payload is not None:
        stored = pg_import.batch_store(job.sample_id, batch.payload, memory)
        account_counts, post_counts = stored.accounts, stored.posts
    else:
        account_pks, account_counts = _accounts_upsert(job.sample_id, batch.accounts)
        posts = {key: _post_values(record) for key, record in batch.posts.items()}
        post_pks, post_counts = _posts_upsert(job.sample_id, posts, account_pks)
        _sample_posts_link(job.sample_id, post_pks.values())
    counts.inserted, counts.updated = account_counts if job.format in ACCOUNT_FORMATS else post_counts
    counts.unchanged = batch.rows - counts.rejected - counts.inserted - counts.updated
    RejectedRow.objects.bulk_create(
        [
            RejectedRow(sample_import=job, line=e.line, field=e.field[:100], reason=e.reason, raw=e.raw[:RAW_CAP])
            for e in batch.errors
        ],
        ignore_conflicts=True,
    )
    return counts, stored


# --- the portable path (SQLite): merges in Python, inserts with bulk_create ------------------------------------


def _existing(
    model: type[Model], sample_id: int, keys: Iterable[Key], key_field: str, fields: Iterable[str]
) -> dict[Key, dict]:
    by_platform: dict[str, list[str]] = {}
    for platform, ident in keys:
        by_platform.setdefault(platform, []).append(ident)
    found = {}
    columns = ["pk", "platform", key_field, *fields]
    for platform, idents in by_platform.items():
        for start in range(0, len(idents), 900):
            rows = model.objects.filter(
                sample_id=sample_id, platform=platform, **{f"{key_field}__in": idents[start : start + 900]}
            )
            for row in rows.values(*columns):
                found[(row["platform"], row[key_field])] = row
    return found


def _accounts_upsert(sample_id: int, accounts: dict[Key, dict]) -> tuple[dict[Key, int], tuple[int, int]]:
    existing = _existing(SocialAccount, sample_id, accounts, "account_id", ACCOUNT_FIELDS)
    pks = {key: row["pk"] for key, row in existing.items()}
    new_keys = [key for key in accounts if key not in existing]
    changed = 0
    for key, row in existing.items():
        merged = merged_values(row, accounts[key], ACCOUNT_FIELDS)
        if merged:
            filled = {f: merged[f] for f in ACCOUNT_FIELDS if merged[f] is not row[f]}
            SocialAccount.objects.filter(pk=row["pk"]).update(**filled)
            changed += 1
    columns = ["sample_id", "platform", "account_id", *ACCOUNT_FIELDS]
    rows = []
    for key in new_keys:
        values = accounts[key]
        rows.append(
            (sample_id, *key, *[values[f] if values[f] is not None or f in _NULLABLE else "" for f in ACCOUNT_FIELDS])
        )
    pks.update(zip(new_keys, _insert(SocialAccount, columns, rows), strict=True))
    return pks, (len(new_keys), changed)


_NULLABLE = frozenset({"created_at", "followers", "following", "post_count"})


def _posts_upsert(
    sample_id: int, posts: dict[Key, dict], account_pks: dict[Key, int]
) -> tuple[dict[Key, int], tuple[int, int]]:
    existing = _existing(Post, sample_id, posts, "post_id", (*POST_SCALARS, *POST_LISTS))
    pks = {key: row["pk"] for key, row in existing.items()}
    changed = []
    for key, row in existing.items():
        merged = merged_values(row, posts[key], POST_SCALARS, POST_LISTS)
        if merged:
            changed.append(Post(pk=row["pk"], **{f: merged[f] for f in (*POST_SCALARS, *POST_LISTS)}))
    if changed:
        Post.objects.bulk_update(changed, [*POST_SCALARS, *POST_LISTS], batch_size=1000)
    new_keys = [key for key in posts if key not in existing]
    columns = ["sample_id", "platform", "post_id", "account_id", "created_at", *POST_SCALARS, *POST_LISTS]
    rows = []
    for key in new_keys:
        values = posts[key]
        rows.append(
            (
                sample_id,
                *key,
                account_pks[values["account"]],
                values["created_at"],
                *[values[f] for f in POST_SCALARS],
                *[values[f] for f in POST_LISTS],
            )
        )
    pks.update(zip(new_keys, _insert(Post, columns, rows), strict=True))
    return pks, (len(new_keys), len(changed))


def _is_postgres() -> bool:
    return connection.vendor == "postgresql"


def _insert(model: type[Model], columns: list[str], rows: list[tuple]) -> list[int]:
    """Insert new rows and return their primary keys in order."""
    objs = model.objects.bulk_create([model(**dict(zip(columns, row, strict=True))) for row in rows], batch_size=2000)
    return [obj.pk for obj in objs]


def _sample_posts_link(sample_id: int, post_pks: Iterable[int]) -> None:
    """Add posts to a sample; links already there are left alone."""
    SamplePost.objects.bulk_create(
        [SamplePost(sample_id=sample_id, post_id=pk) for pk in post_pks], batch_size=2000, ignore_conflicts=True
    )


def _finish(job: SampleImport, status: str, error: str = "") -> None:
    SampleImport.objects.filter(pk=job.pk).update(status=status, error=error[:5000], finished_at=timezone.now())
    job.status, job.error = status, error
    sample_counts_refresh(sample_id=job.sample_id)


def sample_counts_refresh(*, sample_id: int) -> None:
    """Recount a sample's posts, accounts and platforms, and set its status from its imports."""
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


def rejected_rows_csv(*, job: SampleImport) -> Iterator[list[str]]:
    """The rejected rows of an import as CSV rows, cells neutralised against formula injection."""
    from detection.engine.output import safe_cell

    yield ["line", "field", "reason", "raw"]
    for row in job.rejected_rows.order_by("line").iterator(chunk_size=2000):
        yield [str(row.line), safe_cell(row.field), safe_cell(row.reason), safe_cell(row.raw)]
