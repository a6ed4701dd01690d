"""Writes of the detection app: samples and their imports."""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.files import File
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Model
from django.utils import timezone

from detection.engine.normalise import normalise_text
from detection.engine.readers import ReadLimits, detect_format, read_sample
from detection.engine.records import AccountRecord, PostRecord, RowError, SampleFileError

from . import pg_import
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
ACCOUNT_FORMATS = frozenset({"canonical-accounts-csv", "twitter-io-users"})
POST_SCALARS = ("text", "text_normalised", "reshare_of", "reply_to", "quote_of", "lang")
POST_LISTS = ("urls", "normalised_urls", "domains", "hashtags", "mentions", "media_hashes")
ACCOUNT_FIELDS = ("handle", "display_name", "created_at", "followers", "following", "post_count", "description")
RAW_CAP = 300

Key = tuple[str, str]


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
    from .tasks import sample_import_task

    transaction.on_commit(lambda: sample_import_task.delay(job.pk))


# --- the import job ---------------------------------------------------------------------------------------


class _CountingReader:
    """A binary file wrapper that counts the bytes read, for progress."""

    def __init__(self, raw: IO[bytes]):
        self.raw = raw
        self.count = 0

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        self.count += len(data)
        return data

    def read1(self, size: int = -1) -> bytes:
        data = self.raw.read1(size) if hasattr(self.raw, "read1") else self.raw.read(size)
        self.count += len(data)
        return data

    def readinto(self, buffer) -> int:
        n = self.raw.readinto(buffer)
        self.count += n or 0
        return n

    def readable(self) -> bool:
        return True

    @property
    def closed(self) -> bool:
        return self.raw.closed


@dataclass
class BatchCounts:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    duplicates: int = 0
    accounts: int = 0


@dataclass
class _Batch:
    rows: int = 0
    posts: dict[Key, PostRecord] = field(default_factory=dict)
    accounts: dict[Key, dict] = field(default_factory=dict)
    errors: list[RowError] = field(default_factory=list)
    duplicates: int = 0
    payload: pg_import.Payload | None = None  # the batch as COPY text, built by the reading thread


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
        fmt = job.format or detect_format(path)
        with open(path, "rb") as handle:
            raw = _CountingReader(handle)
            limits = ReadLimits(max_inflated_bytes=settings.SAMPLE_MAX_INFLATED_BYTES)
            records = read_sample(raw, fmt, platform=job.platform or None, limits=limits)
            _consume(job, fmt, records, raw, progress)
    except (SampleFileError, ValueError, UnicodeError, OSError) as exc:
        _finish(job, ImportStatus.FAILED, error=str(exc))
        return job
    _finish(job, ImportStatus.DONE)
    return job


class _BatchWriter:
    """Commits batches in order, on a thread of its own when the database allows it.

    On PostgreSQL, outside an open transaction, a writer thread with its own connection commits batch k while
    the reader parses batch k+1, so reading and writing overlap. Batches still commit one at a time and in
    file order, each with the job's checkpoint, so resuming works exactly as in the sequential case.
    """

    def __init__(self, job: SampleImport, progress, memory: pg_import.ImportMemory | None):
        self.job, self.progress, self.memory = job, progress, memory
        self.threaded = _is_postgres() and not connection.in_atomic_block
        self.failure: BaseException | None = None
        if self.threaded:
            self.queue: queue.Queue = queue.Queue(maxsize=1)
            self.thread = threading.Thread(target=self._run, name=f"import-{job.pk}-writer", daemon=True)
            self.thread.start()

    def _write(self, batch: _Batch, bytes_done: int) -> None:
        _commit(self.job, batch, bytes_done, self.memory)
        if self.progress:
            self.progress(bytes_done, self.job.rows_done)

    def _run(self) -> None:
        try:
            while (item := self.queue.get()) is not None:
                if self.failure is None:
                    try:
                        self._write(*item)
                    except BaseException as exc:  # noqa: BLE001 - handed to the reading thread, which re-raises
                        self.failure = exc
        finally:
            connection.close()

    def put(self, batch: _Batch, bytes_done: int) -> None:
        if not self.threaded:
            self._write(batch, bytes_done)
            return
        if self.failure is not None:
            raise self.failure
        self.queue.put((batch, bytes_done))

    def close(self) -> None:
        if self.threaded:
            self.queue.put(None)
            self.thread.join()
            if self.failure is not None:
                raise self.failure


def _consume(job: SampleImport, fmt: str, records: Iterable, raw: _CountingReader, progress) -> None:
    if job.format != fmt:
        job.format = fmt
        SampleImport.objects.filter(pk=job.pk).update(format=fmt, bytes_total=job.bytes_total)
    account_rows = fmt in ACCOUNT_FORMATS
    skip = job.rows_done
    batch = _Batch()
    memory = pg_import.ImportMemory() if _is_postgres() else None
    writer = _BatchWriter(job, progress, memory)
    try:
        for record in records:
            is_row = isinstance(record, RowError) or (isinstance(record, AccountRecord) == account_rows)
            if is_row and skip:
                skip -= 1
                continue
            if not is_row and skip:
                continue  # an extra account record of a row already committed
            _add(batch, record, is_row, memory)
            if batch.rows >= BATCH_ROWS:
                writer.put(_sealed(batch, memory), raw.count)
                batch = _Batch()
        writer.put(_sealed(batch, memory), raw.count)
    finally:
        writer.close()
    job.refresh_from_db()


def _sealed(batch: _Batch, memory: pg_import.ImportMemory | None) -> _Batch:
    """The batch ready for the writer: on PostgreSQL its COPY text is built here, on the reading thread."""
    if memory is not None:
        batch.payload = pg_import.batch_payload(batch.accounts, batch.posts.values())
    return batch


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


def _account_values(record: AccountRecord) -> dict:
    return {
        "handle": record.handle,
        "display_name": record.display_name,
        "created_at": record.created_at,
        "followers": record.followers,
        "following": record.following,
        "post_count": record.posts,
        "description": record.description,
    }


def _additions(old, new, scalars: Iterable[str], lists: Iterable[str], get) -> dict:
    """What a later sighting adds to a stored one: empty scalars are filled, lists gain what they lack.

    The first non-empty value wins, so replaying the same rows in the same order never changes anything.
    `get` reads a field (dict.get for stored rows, getattr for records).
    """
    added: dict[str, Any] = {}
    for name in scalars:
        if get(old, name) in (None, "") and get(new, name) not in (None, ""):
            added[name] = get(new, name)
    for name in lists:
        have = set(get(old, name))
        extra = []
        for value in get(new, name):
            if value not in have:
                have.add(value)
                extra.append(value)
        if extra:
            added[name] = [*get(old, name), *extra]
    return added


def _merge(old: dict, new: dict, scalars: Iterable[str], lists: Iterable[str] = ()) -> dict | None:
    """The stored values with a later sighting merged in, or None when it adds nothing."""
    added = _additions(old, new, scalars, lists, dict.get)
    return {**old, **added} if added else None


_RECORD_SCALARS = ("text", "reshare_of", "reply_to", "quote_of", "lang", "handle")


def _merge_records(old: PostRecord, new: PostRecord) -> PostRecord:
    added = _additions(old, new, _RECORD_SCALARS, POST_LISTS, getattr)
    if not added:
        return old
    return replace(old, **{name: tuple(v) if isinstance(v, list) else v for name, v in added.items()})


def _add(batch: _Batch, record, is_row: bool, memory: pg_import.ImportMemory | None) -> None:
    if is_row:
        batch.rows += 1
    if type(record) is PostRecord:
        _add_post(batch, record, memory)
    elif isinstance(record, RowError):
        batch.errors.append(record)
    else:
        key = (record.platform, record.account_id)
        values = _account_values(record)
        if key in batch.accounts:
            merged = _merge(batch.accounts[key], values, ACCOUNT_FIELDS)
            if merged:
                batch.accounts[key] = merged
            if is_row:
                batch.duplicates += 1
        else:
            batch.accounts[key] = values


def _add_post(batch: _Batch, record: PostRecord, memory: pg_import.ImportMemory | None) -> None:
    author = (record.platform, record.account_id)
    if author in batch.accounts:
        if record.handle and not batch.accounts[author]["handle"]:
            batch.accounts[author]["handle"] = record.handle
    elif memory is None or not memory.adds_nothing(author, record.handle):
        batch.accounts[author] = dict.fromkeys(ACCOUNT_FIELDS, None) | {"handle": record.handle}
    key = (record.platform, record.post_id)
    if key in batch.posts:
        batch.duplicates += 1
        batch.posts[key] = _merge_records(batch.posts[key], record)
    else:
        batch.posts[key] = record


def _commit(job: SampleImport, batch: _Batch, bytes_done: int, memory: pg_import.ImportMemory | None) -> None:
    if not batch.rows and not batch.accounts:
        return
    for attempt in range(2):
        try:
            with transaction.atomic():
                counts, stored = _store(job, batch, memory)
                job.rows_done += batch.rows
                job.bytes_done = bytes_done
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
    job: SampleImport, batch: _Batch, memory: pg_import.ImportMemory | None
) -> tuple[BatchCounts, pg_import.Stored | None]:
    """Write a batch; returns its counts and, on PostgreSQL, what the import learns from it."""
    counts = BatchCounts(rejected=len(batch.errors), duplicates=batch.duplicates, accounts=len(batch.accounts))
    stored = None
    if batch.payload is not None:
        stored = pg_import.batch_store(job.sample_id, batch.payload, memory)
        account_counts, post_counts = stored.accounts, stored.posts
        counts.accounts = len(stored.account_ids)
    else:
        account_pks, account_counts = _accounts_upsert(batch.accounts)
        posts = {key: _post_values(record) for key, record in batch.posts.items()}
        post_pks, post_counts = _posts_upsert(posts, account_pks)
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


def _existing(model: type[Model], keys: Iterable[Key], key_field: str, fields: Iterable[str]) -> dict[Key, dict]:
    by_platform: dict[str, list[str]] = {}
    for platform, ident in keys:
        by_platform.setdefault(platform, []).append(ident)
    found = {}
    columns = ["pk", "platform", key_field, *fields]
    for platform, idents in by_platform.items():
        for start in range(0, len(idents), 900):
            rows = model.objects.filter(platform=platform, **{f"{key_field}__in": idents[start : start + 900]})
            for row in rows.values(*columns):
                found[(row["platform"], row[key_field])] = row
    return found


def _accounts_upsert(accounts: dict[Key, dict]) -> tuple[dict[Key, int], tuple[int, int]]:
    existing = _existing(SocialAccount, accounts, "account_id", ACCOUNT_FIELDS)
    pks = {key: row["pk"] for key, row in existing.items()}
    new_keys = [key for key in accounts if key not in existing]
    changed = 0
    for key, row in existing.items():
        merged = _merge(row, accounts[key], ACCOUNT_FIELDS)
        if merged:
            filled = {f: merged[f] for f in ACCOUNT_FIELDS if merged[f] is not row[f]}
            SocialAccount.objects.filter(pk=row["pk"]).update(**filled)
            changed += 1
    columns = ["platform", "account_id", *ACCOUNT_FIELDS]
    rows = []
    for key in new_keys:
        values = accounts[key]
        rows.append((*key, *[values[f] if values[f] is not None or f in _NULLABLE else "" for f in ACCOUNT_FIELDS]))
    pks.update(zip(new_keys, _insert(SocialAccount, columns, rows), strict=True))
    return pks, (len(new_keys), changed)


_NULLABLE = frozenset({"created_at", "followers", "following", "post_count"})


def _posts_upsert(posts: dict[Key, dict], account_pks: dict[Key, int]) -> tuple[dict[Key, int], tuple[int, int]]:
    existing = _existing(Post, posts, "post_id", (*POST_SCALARS, *POST_LISTS))
    pks = {key: row["pk"] for key, row in existing.items()}
    changed = []
    for key, row in existing.items():
        merged = _merge(row, posts[key], POST_SCALARS, POST_LISTS)
        if merged:
            changed.append(Post(pk=row["pk"], **{f: merged[f] for f in (*POST_SCALARS, *POST_LISTS)}))
    if changed:
        Post.objects.bulk_update(changed, [*POST_SCALARS, *POST_LISTS], batch_size=1000)
    new_keys = [key for key in posts if key not in existing]
    columns = ["platform", "post_id", "account_id", "created_at", *POST_SCALARS, *POST_LISTS]
    rows = []
    for key in new_keys:
        values = posts[key]
        rows.append(
            (
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
    posts = Post.objects.filter(samples__pk=sample_id)
    summary = posts.aggregate(n=Count("pk"), accounts=Count("account", distinct=True))
    platforms = sorted(posts.order_by().values_list("platform", flat=True).distinct())
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
