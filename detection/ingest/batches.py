"""The reading half of the sample import: a file becomes batches of merged records.

Nothing here imports Django. `read_batches` streams a sample file and yields `Batch`es: the rows read,
in-file duplicates merged (posts by `merge_post`, accounts by `account_values_merged`), the rejected rows,
and on PostgreSQL each post already written as a line of COPY text. A writer (`writers.BatchWriter`) commits
them in order; a large file is read in a child process (`reader_process`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import IO

from detection.engine.normalise import normalise_texts
from detection.engine.readers import CanonicalChunk, PostColumns, ReadLimits, read_canonical_chunks, read_sample
from detection.engine.records import POST_MERGED_LISTS, AccountRecord, PostRecord, RowError, merge_post

Key = tuple[str, str]
KEY_SEPARATOR = "\x1f"

ACCOUNT_FORMATS = frozenset({"canonical-accounts-csv", "twitter-io-users"})
POST_SCALARS = ("text", "text_normalised", "reshare_of", "reply_to", "quote_of", "lang")
POST_LISTS = POST_MERGED_LISTS
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


def account_values_merged(stored: dict, seen: dict) -> dict | None:
    """An account's values with a later sighting's merged in (each empty field takes the later value, the first
    non-empty one wins, as `merge_post` does for a post's scalars), or None when the sighting adds nothing."""
    added = {
        name: seen[name]
        for name in ACCOUNT_FIELDS
        if stored.get(name) in (None, "") and seen.get(name) not in (None, "")
    }
    return {**stored, **added} if added else None


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
            merged = account_values_merged(batch.accounts[key], values)
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
        batch.posts[key] = merge_post(batch.posts[key], record)
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
