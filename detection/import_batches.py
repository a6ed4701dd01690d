"""The reading half of the sample import: a file becomes batches of merged records, in a process of its own.

Nothing here imports Django. `read_batches` streams a sample file and yields `Batch`es: the rows read,
in-file duplicates merged, the rejected rows, and on PostgreSQL each post already written as a line of COPY
text. The writing half (services and pg_import) commits them in order.

A large file is read in a child process (`batches_from_child`, which runs `child_main`): parsing and
normalising are pure Python and would otherwise hold the interpreter lock the writer needs between its round
trips to the database, so a reading thread in the same process overlaps with the writer hardly at all. The
child sends each batch down a pipe, pickled, and blocks until the writer takes it, so it works at most one
batch ahead; when the writer stops or dies, the pipe breaks and the child exits.
"""

from __future__ import annotations

import gc
import json
import os
import pickle
import queue
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any

from detection.engine.normalise import normalise_texts
from detection.engine.readers import CanonicalChunk, PostColumns, ReadLimits, read_canonical_chunks, read_sample
from detection.engine.records import AccountRecord, PostRecord, RowError, SampleFileError

Key = tuple[str, str]
KEY_SEPARATOR = "\x1f"

ACCOUNT_FORMATS = frozenset({"canonical-accounts-csv", "twitter-io-users"})
POST_SCALARS = ("text", "text_normalised", "reshare_of", "reply_to", "quote_of", "lang")
POST_LISTS = ("urls", "normalised_urls", "domains", "hashtags", "mentions", "media_hashes")
ACCOUNT_FIELDS = ("handle", "display_name", "created_at", "followers", "following", "post_count", "description")
ACCOUNT_TEXT = ("handle", "display_name", "description")
ACCOUNT_NULLABLE = ("created_at", "followers", "following", "post_count")


@dataclass
class Payload:
    """One batch as PostgreSQL will take it: keys, and each post as a line of COPY text."""

    posts: int = 0
    # The posts' keys as two strings joined with U+001F (clean_text removes every C0 control from what the
    # readers yield, so it never occurs inside a key), as the lookup takes them; `post_keys()` splits them.
    post_platforms: str = ""
    post_ids: str = ""
    # The posts as lines of COPY text (POST_COPY_COLUMNS, escaped), UTF-8, each ending in a newline: one
    # bytes object pickles and unpickles in a fraction of the time of 20,000 strings.
    post_lines: bytes = b""
    authors: list[Key] = field(default_factory=list)  # the posts' distinct authors
    post_author_index: list[int] = field(default_factory=list)  # each post's author, as an index into authors
    accounts: dict[Key, dict] = field(default_factory=dict)  # accounts with values to store or merge
    accounts_named: int = 0  # distinct accounts the batch names, as authors or account rows

    def post_line_list(self) -> list[bytes]:
        return self.post_lines.split(b"\n")[:-1]

    def post_keys(self) -> list[Key]:
        if not self.posts:
            return []
        return list(zip(self.post_platforms.split(KEY_SEPARATOR), self.post_ids.split(KEY_SEPARATOR), strict=True))


@dataclass
class Batch:
    rows: int = 0  # rows of the file (an extra account record of a post row is not a row)
    posts: dict[Key, PostRecord] = field(default_factory=dict)  # emptied once `payload` holds them
    accounts: dict[Key, dict] = field(default_factory=dict)  # emptied once `payload` holds them
    accounts_named: int = 0  # distinct accounts the batch names, as authors or account rows
    errors: list[RowError] = field(default_factory=list)
    duplicates: int = 0
    bytes_done: int = 0  # bytes of the file read when the batch was sealed, for progress
    payload: Payload | None = None


# --- COPY text ----------------------------------------------------------------------------------------------

# The columns of a post's COPY line (the writer puts the post's and its account's primary keys in front).
POST_COPY_COLUMNS = ("platform", "post_id", "created_at", *POST_SCALARS, *POST_LISTS)


def copy_escaped(value: str | None) -> str:
    if value is None:
        return "\\N"
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def copy_bytes(lines: list[str]) -> bytes:
    """Lines of COPY text as the bytes COPY reads: UTF-8, each line ending in a newline."""
    return "".join([f"{line}\n" for line in lines]).encode()


def copy_line(fields: list[str]) -> str:
    """One row of COPY text; the fields are escaped only when one of them needs it."""
    line = "\t".join(fields)
    if line.count("\t") != len(fields) - 1 or "\\" in line or "\n" in line or "\r" in line:
        line = "\t".join(map(copy_escaped, fields))
    return line


def _json_list(items: tuple[str, ...]) -> str:
    body = '","'.join(items)
    if body.count('"') != 2 * len(items) - 2 or "\\" in body or not body.isprintable():  # an item needs escaping
        return json.dumps(items, ensure_ascii=False)
    return f'["{body}"]'


def carries_values(values: dict) -> bool:
    return any(values[c] for c in ACCOUNT_TEXT) or any(values[c] is not None for c in ACCOUNT_NULLABLE)


def batch_payload(accounts: dict[Key, dict], posts: Iterable[PostRecord] | PostColumns) -> Payload:
    """The batch as keys and COPY text: accounts as merged values, posts as (merged) records or columns.

    An author known only by its key travels in `authors` alone, not as an empty entry of `accounts`.
    """
    columns = posts if isinstance(posts, PostColumns) else PostColumns.from_records(list(posts))
    payload = Payload()
    author_keys = list(zip(columns.platforms, columns.account_ids, strict=True))
    index = {author: i for i, author in enumerate(dict.fromkeys(author_keys))}
    payload.post_author_index = list(map(index.__getitem__, author_keys))
    stamps = {moment: moment.isoformat() for moment in set(columns.created_at)}  # all UTC: equal ones print alike
    texts = columns.texts
    distinct_texts = list(set(texts))  # copied posts share their text
    normalised = dict(zip(distinct_texts, normalise_texts(distinct_texts), strict=True))
    fields = [
        columns.platforms,
        columns.post_ids,
        list(map(stamps.__getitem__, columns.created_at)),
        texts,
        list(map(normalised.__getitem__, texts)),
        columns.reshare_of,
        columns.reply_to,
        columns.quote_of,
        columns.langs,
        *map(
            _json_column,
            (
                columns.urls,
                columns.normalised_urls,
                columns.domains,
                columns.hashtags,
                columns.mentions,
                columns.media_hashes,
            ),
        ),
    ]
    n = len(author_keys)
    text = "\n".join(map("\t".join, zip(*fields, strict=True)))
    # One look at the whole batch: a tab, newline, carriage return or backslash inside a field needs escaping.
    if text.count("\t") != n * (len(fields) - 1) or text.count("\n") != max(n - 1, 0) or "\\" in text or "\r" in text:
        text = "\n".join(copy_line(list(row)) for row in zip(*fields, strict=True))
    payload.posts = n
    payload.post_platforms = KEY_SEPARATOR.join(columns.platforms)
    payload.post_ids = KEY_SEPARATOR.join(columns.post_ids)
    payload.post_lines = f"{text}\n".encode() if n else b""
    payload.authors = list(index)
    payload.accounts = {key: v for key, v in accounts.items() if key not in index or carries_values(v)}
    payload.accounts_named = len(index) + sum(1 for key in accounts if key not in index)
    return payload


def _json_column(values: Sequence[tuple[str, ...]]) -> list[str]:
    if not any(values):
        return ["[]"] * len(values)
    return [_json_list(items) if items else "[]" for items in values]


# --- merging sightings of the same key -------------------------------------------------------------------------


def additions(old, new, scalars: Iterable[str], lists: Iterable[str], get) -> dict:
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


def merged_values(old: dict, new: dict, scalars: Iterable[str], lists: Iterable[str] = ()) -> dict | None:
    """The stored values with a later sighting merged in, or None when it adds nothing."""
    added = additions(old, new, scalars, lists, dict.get)
    return {**old, **added} if added else None


_RECORD_SCALARS = ("text", "reshare_of", "reply_to", "quote_of", "lang", "handle")


def _merge_records(old: PostRecord, new: PostRecord) -> PostRecord:
    added = additions(old, new, _RECORD_SCALARS, POST_LISTS, getattr)
    if not added:
        return old
    return replace(old, **{name: tuple(v) if isinstance(v, list) else v for name, v in added.items()})


def account_values(record: AccountRecord) -> dict:
    return {
        "handle": record.handle,
        "display_name": record.display_name,
        "created_at": record.created_at,
        "followers": record.followers,
        "following": record.following,
        "post_count": record.posts,
        "description": record.description,
    }


class CarriedAuthors:
    """Post authors an earlier batch of this read carried already, and whether with a handle.

    A post row tells of its author's id and perhaps handle, nothing more. Batches commit in order, so once
    one has carried an author, a later row adds nothing unless it brings the first handle: such authors stay
    out of later batches' accounts (the writer still learns their keys from `Payload.authors`).
    """

    CAP = 500_000  # past this many accounts (about 95 MB), forget them all rather than grow without bound

    def __init__(self) -> None:
        self.handles: dict[Key, bool] = {}

    def carry(self, accounts: dict[Key, dict]) -> None:
        if len(self.handles) + len(accounts) > self.CAP:
            self.handles.clear()
        for key, values in accounts.items():
            self.handles[key] = self.handles.get(key, False) or bool(values["handle"])


def _add(batch: Batch, record, is_row: bool, carried: CarriedAuthors | None) -> None:
    if is_row:
        batch.rows += 1
    if type(record) is PostRecord:
        _add_post(batch, record, carried)
    elif isinstance(record, RowError):
        batch.errors.append(record)
    else:
        key = (record.platform, record.account_id)
        values = account_values(record)
        if key in batch.accounts:
            merged = merged_values(batch.accounts[key], values, ACCOUNT_FIELDS)
            if merged:
                batch.accounts[key] = merged
            if is_row:
                batch.duplicates += 1
        else:
            batch.accounts[key] = values


def _add_author(accounts: dict[Key, dict], author: Key, handle: str, carried: CarriedAuthors | None) -> None:
    """A post's author among the batch's accounts, with the first handle a post gives it."""
    if author in accounts:
        if handle and not accounts[author]["handle"]:
            accounts[author]["handle"] = handle
    else:
        known = None if carried is None else carried.handles.get(author)
        if known is None or (handle and not known):  # else an earlier batch carried all this row tells
            accounts[author] = dict.fromkeys(ACCOUNT_FIELDS, None) | {"handle": handle}


def _add_post(batch: Batch, record: PostRecord, carried: CarriedAuthors | None) -> None:
    _add_author(batch.accounts, (record.platform, record.account_id), record.handle, carried)
    key = (record.platform, record.post_id)
    if key in batch.posts:
        batch.duplicates += 1
        batch.posts[key] = _merge_records(batch.posts[key], record)
    else:
        batch.posts[key] = record


# --- reading ----------------------------------------------------------------------------------------------------


class CountingReader:
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


def read_batches(
    *,
    path: str,
    fmt: str,
    platform: str | None,
    max_inflated_bytes: int,
    max_inflation_ratio: float,
    skip_rows: int,
    batch_rows: int,
    copy_text: bool,
) -> Iterator[Batch]:
    """Batches of `batch_rows` rows from the file, after the first `skip_rows` (committed by an earlier run).

    With `copy_text` (PostgreSQL) each batch carries its posts as a `Payload`, and post authors that an
    earlier batch carried already are left out of its accounts.
    """
    account_rows = fmt in ACCOUNT_FORMATS
    carried = CarriedAuthors() if copy_text else None
    skip = skip_rows
    with open(path, "rb") as handle:
        raw = CountingReader(handle)
        limits = ReadLimits(max_inflated_bytes=max_inflated_bytes, max_inflation_ratio=max_inflation_ratio)
        if copy_text and fmt == "canonical-csv":
            chunks = read_canonical_chunks(
                raw, platform=platform, limits=limits, chunk_rows=batch_rows, skip_rows=skip_rows
            )
            for chunk in chunks:
                yield _chunk_batch(chunk, raw.count, carried)
            return
        batch = Batch()
        for record in read_sample(raw, fmt, platform=platform, limits=limits):
            is_row = isinstance(record, RowError) or (isinstance(record, AccountRecord) == account_rows)
            if skip:
                if is_row:
                    skip -= 1
                continue  # a row committed by an earlier run, or an extra account record of one
            _add(batch, record, is_row, carried)
            if batch.rows >= batch_rows:
                yield _sealed(batch, raw.count, carried)
                batch = Batch()
        yield _sealed(batch, raw.count, carried)


def _chunk_batch(chunk: CanonicalChunk, bytes_done: int, carried: CarriedAuthors | None) -> Batch:
    """A chunk of canonical rows as a batch: read as columns when it can be, else row by row."""
    columns = chunk.columns()
    batch = Batch()
    if columns is None:
        for record in chunk.records():
            _add(batch, record, True, carried)
        return _sealed(batch, bytes_done, carried)
    batch.rows = len(columns.post_ids)
    authors = zip(columns.platforms, columns.account_ids, strict=True)
    if any(columns.handles):
        for author, handle in zip(authors, columns.handles, strict=True):
            _add_author(batch.accounts, author, handle, carried)
    else:  # with no handle anywhere, an author's first post is the only one that can add it
        for author in dict.fromkeys(authors):
            _add_author(batch.accounts, author, "", carried)
    return _sealed(batch, bytes_done, carried, columns)


def _sealed(batch: Batch, bytes_done: int, carried: CarriedAuthors | None, columns: PostColumns | None = None) -> Batch:
    batch.bytes_done = bytes_done
    batch.accounts_named = len(batch.accounts)
    if carried is not None:
        batch.payload = payload = batch_payload(batch.accounts, batch.posts.values() if columns is None else columns)
        batch.accounts_named = payload.accounts_named
        carried.carry(batch.accounts)
        batch.posts, batch.accounts = {}, {}
    return batch


# --- the reading process --------------------------------------------------------------------------------------

_PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Imported by name, not run as __main__, so that the batches unpickle as this module's classes.
_CHILD_COMMAND = "import sys; from detection.import_batches import child_main; sys.exit(child_main(sys.argv[1]))"


class ReaderProcessError(SampleFileError):
    """The reading process failed: its error as it reported it, or how it ended (killed, out of memory) with
    the last of what it wrote to standard error. The import fails with this as its reason."""


FILE_ERRORS = (ValueError, OSError)  # what the reader raises about the file itself, raised here as it was
STDERR_TAIL_BYTES = 2_000


def batches_from_child(**options: Any) -> Iterator[Batch]:
    """`read_batches(**options)`, run in a child process; its errors are raised here.

    An error about the file (encoding, layout, a missing file) is raised as the reader raised it; any other
    failure of the child, reported or not, as a `ReaderProcessError` that says what happened.
    A thread takes the batches off the pipe as they come, up to `AHEAD` of the one being written: the reader
    keeps reading while the writer waits on the database, instead of blocking on a full pipe.
    """
    with tempfile.TemporaryFile() as stderr:
        process = subprocess.Popen(
            [sys.executable, "-c", _CHILD_COMMAND, json.dumps(options)],
            cwd=_PROJECT_ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=stderr,
            bufsize=1 << 20,
        )
        received: queue.Queue = queue.Queue(maxsize=AHEAD)
        stopped = threading.Event()
        receiver = threading.Thread(target=_receive, args=(process, received, stopped), daemon=True)
        receiver.start()
        try:
            while True:
                kind, value = received.get()
                if kind == "error":
                    raise _child_error(value, _tail(stderr))
                if kind == "end":
                    process.wait()
                    return
                yield value
        finally:
            stopped.set()
            if process.poll() is None:
                process.kill()
            process.wait()
            receiver.join()
            process.stdout.close()
            _pass_on(stderr)


def _child_error(error: BaseException, stderr_tail: str) -> BaseException:
    """The error to raise for what the child reported: its own when about the file, else a ReaderProcessError."""
    if isinstance(error, FILE_ERRORS) and not isinstance(error, ReaderProcessError):
        return error
    reason = str(error) if isinstance(error, ReaderProcessError) else _failed(error)
    failure = ReaderProcessError(f"{reason}; it wrote: {stderr_tail}" if stderr_tail else reason)
    failure.__cause__ = error
    return failure


def _failed(error: BaseException) -> str:
    return f"the reading process failed: {type(error).__name__}: {error}"


def _tail(stderr: IO[bytes]) -> str:
    stderr.seek(0, os.SEEK_END)
    stderr.seek(max(stderr.tell() - STDERR_TAIL_BYTES, 0))
    return stderr.read().decode("utf-8", "replace").strip()


def _pass_on(stderr: IO[bytes]) -> None:
    """What the child wrote to standard error, into this process's (a worker's log keeps its warnings)."""
    stderr.seek(0)
    written = stderr.read()
    if written:
        sys.stderr.write(written.decode("utf-8", "replace"))
        sys.stderr.flush()


AHEAD = 2  # batches received and waiting for the writer (a batch of 20,000 posts is about 10 MB)


def _receive(process: subprocess.Popen, received: queue.Queue, stopped: threading.Event) -> None:
    """Move what the child sends into `received` until it ends, fails, or the consumer stops."""
    while not stopped.is_set():
        try:
            message = pickle.load(process.stdout)  # noqa: S301 - our own child's output
        except EOFError:
            message = ("error", ReaderProcessError(_how_it_ended(process.wait())))
        except Exception as exc:  # noqa: BLE001 - a damaged stream: the consumer raises it
            message = ("error", ReaderProcessError(f"the reading process sent something unreadable: {exc}"))
        while not stopped.is_set():
            try:
                received.put(message, timeout=0.1)
                break
            except queue.Full:
                continue
        if message[0] != "batch":
            return


def _how_it_ended(status: int) -> str:
    if status < 0:
        name = signal.Signals(-status).name if -status in signal.valid_signals() else str(-status)
        return f"the reading process ended unexpectedly (killed by signal {name})"
    return f"the reading process ended unexpectedly (exit status {status})"


def child_main(arguments: str) -> int:
    """The reading process: batches, pickled, on standard output.

    It ignores SIGINT and SIGTERM, which a terminal or a service manager sends to the whole process group:
    the importing process decides (a worker finishing its task on a warm shutdown still needs its reader) and
    kills it when it stops, and a broken pipe ends it when the importer dies.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    out = sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing but batches goes down the pipe
    # The reader allocates a few containers per row and makes almost no cycles, while what it keeps (the
    # carried authors, the URL cache) grows to hundreds of thousands of objects that every automatic full
    # collection walks again: a quarter of the child's time on a million rows. It collects once per batch
    # instead, when the batch it has sent is garbage.
    gc.disable()
    try:
        try:
            for number, batch in enumerate(read_batches(**json.loads(arguments)), start=1):
                pickle.dump(("batch", batch), out, protocol=pickle.HIGHEST_PROTOCOL)
                out.flush()
                del batch
                gc.collect(2 if number % 50 == 0 else 0)
        except Exception as exc:  # noqa: BLE001 - handed to the parent, which raises it
            try:
                pickle.dumps(exc)
            except Exception:  # noqa: BLE001 - an exception that does not pickle goes as its text
                exc = ReaderProcessError(_failed(exc))
            pickle.dump(("error", exc), out)
        else:
            pickle.dump(("end", None), out)
        out.flush()
    except BrokenPipeError:
        os._exit(1)  # the parent stopped reading (it failed or was killed): nothing left to do
    return 0
