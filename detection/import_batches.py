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

import json
import os
import pickle
import signal
import subprocess
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any

from detection.engine.normalise import normalise_text
from detection.engine.readers import ReadLimits, read_sample
from detection.engine.records import AccountRecord, PostRecord, RowError

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


def _copy_line(fields: list[str]) -> str:
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


def batch_payload(accounts: dict[Key, dict], posts: Iterable[PostRecord]) -> Payload:
    """The batch as keys and COPY text: accounts as merged values, posts as (merged) records.

    An author known only by its key travels in `authors` alone, not as an empty entry of `accounts`.
    """
    payload = Payload()
    platforms, post_ids, author_index, lines = [], [], payload.post_author_index, []
    index: dict[Key, int] = {}
    for r in posts:
        platforms.append(r.platform)
        post_ids.append(r.post_id)
        author = (r.platform, r.account_id)
        i = index.get(author)
        if i is None:
            i = index[author] = len(index)
        author_index.append(i)
        lines.append(
            _copy_line(
                [
                    r.platform,
                    r.post_id,
                    r.created_at.isoformat(),
                    r.text,
                    normalise_text(r.text) if r.text else "",
                    r.reshare_of,
                    r.reply_to,
                    r.quote_of,
                    r.lang,
                    _json_list(r.urls) if r.urls else "[]",
                    _json_list(r.normalised_urls) if r.urls else "[]",
                    _json_list(r.domains) if r.domains else "[]",
                    _json_list(r.hashtags) if r.hashtags else "[]",
                    _json_list(r.mentions) if r.mentions else "[]",
                    _json_list(r.media_hashes) if r.media_hashes else "[]",
                ]
            )
        )
    payload.posts = len(lines)
    payload.post_platforms = KEY_SEPARATOR.join(platforms)
    payload.post_ids = KEY_SEPARATOR.join(post_ids)
    payload.post_lines = copy_bytes(lines)
    payload.authors = list(index)
    payload.accounts = {key: v for key, v in accounts.items() if key not in index or carries_values(v)}
    payload.accounts_named = len(index) + sum(1 for key in accounts if key not in index)
    return payload


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


def _add_post(batch: Batch, record: PostRecord, carried: CarriedAuthors | None) -> None:
    author = (record.platform, record.account_id)
    if author in batch.accounts:
        if record.handle and not batch.accounts[author]["handle"]:
            batch.accounts[author]["handle"] = record.handle
    else:
        known = None if carried is None else carried.handles.get(author)
        if known is None or (record.handle and not known):  # else an earlier batch carried all this row tells
            batch.accounts[author] = dict.fromkeys(ACCOUNT_FIELDS, None) | {"handle": record.handle}
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
        limits = ReadLimits(max_inflated_bytes=max_inflated_bytes)
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


def _sealed(batch: Batch, bytes_done: int, carried: CarriedAuthors | None) -> Batch:
    batch.bytes_done = bytes_done
    batch.accounts_named = len(batch.accounts)
    if carried is not None:
        batch.payload = payload = batch_payload(batch.accounts, batch.posts.values())
        batch.accounts_named = payload.accounts_named
        carried.carry(batch.accounts)
        batch.posts, batch.accounts = {}, {}
    return batch


# --- the reading process --------------------------------------------------------------------------------------

_PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Imported by name, not run as __main__, so that the batches unpickle as this module's classes.
_CHILD_COMMAND = "import sys; from detection.import_batches import child_main; sys.exit(child_main(sys.argv[1]))"


class ReaderProcessError(RuntimeError):
    """The reading process ended without saying why (killed, out of memory)."""


def batches_from_child(**options: Any) -> Iterator[Batch]:
    """`read_batches(**options)`, run in a child process; its errors are raised here, as they were there."""
    process = subprocess.Popen(
        [sys.executable, "-c", _CHILD_COMMAND, json.dumps(options)],
        cwd=_PROJECT_ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        bufsize=1 << 20,
    )
    try:
        while True:
            try:
                kind, value = pickle.load(process.stdout)  # noqa: S301 - our own child's output
            except EOFError:
                raise ReaderProcessError(
                    f"the reading process ended unexpectedly (exit status {process.wait()})"
                ) from None
            if kind == "error":
                raise value
            if kind == "end":
                process.wait()
                return
            yield value
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
        process.stdout.close()


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
    try:
        try:
            for batch in read_batches(**json.loads(arguments)):
                pickle.dump(("batch", batch), out, protocol=pickle.HIGHEST_PROTOCOL)
                out.flush()
        except Exception as exc:  # noqa: BLE001 - handed to the parent, which raises it
            try:
                pickle.dumps(exc)
            except Exception:  # noqa: BLE001 - an exception that does not pickle goes as its text
                exc = ReaderProcessError(f"{type(exc).__name__}: {exc}")
            pickle.dump(("error", exc), out)
        else:
            pickle.dump(("end", None), out)
        out.flush()
    except BrokenPipeError:
        os._exit(1)  # the parent stopped reading (it failed or was killed): nothing left to do
    return 0
