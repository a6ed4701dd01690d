"""The PostgreSQL writer of the sample import: new rows are COPYed straight into their tables.

A batch arrives as COPY text already (`batches.batch_payload`, built by the reading process), so the writer
only looks up which keys are stored already, takes primary keys from the sequences for the new rows, and
ships bytes. New accounts, posts and sample links go in with `COPY`, the cheapest write PostgreSQL has. Rows
that are stored already go through a staging table and one UPDATE that applies the merge rule in SQL (see
`_POSTS_MERGE` and `_ACCOUNTS_MERGE`), so a replayed batch changes nothing. In-batch duplicates are merged
before, so every key occurs once.

Every record belongs to one sample (`Post.sample`, `SocialAccount.sample`): lookups, merges and inserts never
reach another sample's rows, whoever owns it.

Another import into the same sample may store one of the same keys between the lookup and the COPY: the COPY
then fails on the unique constraint, the transaction rolls back, and the import job retries the batch, whose
lookup now finds it.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import repeat

from django.db import IntegrityError, connection, transaction

from detection.ingest.batches import (
    ACCOUNT_NULLABLE,
    ACCOUNT_TEXT,
    KEY_SEPARATOR,
    POST_COPY_COLUMNS,
    POST_LISTS,
    POST_SCALARS,
    Batch,
    Key,
    Payload,
    carries_values,
    copy_bytes,
    copy_line,
)
from detection.ingest.writers import WriteCounts
from detection.pg_copy import copy_in, next_ids

_ACCOUNT_COLUMNS = ", ".join(("platform", "account_id", *ACCOUNT_TEXT, *ACCOUNT_NULLABLE))
_POST_COLUMNS = ", ".join(POST_COPY_COLUMNS)

# Keys travel as two strings joined with KEY_SEPARATOR: a list of 20,000 strings would be dumped item by item.
# Each key is looked up on its own through the unique index (a LATERAL subquery that LIMIT keeps from being
# flattened into a join): as a join, the constant sample lets the planner walk all of the sample's rows through
# the index for every key when its row counts are stale, as they are right after a bulk load.
_LOOKUP_ACCOUNTS = """
SELECT k.platform, k.account_id, a.id, a.has_handle
FROM unnest(string_to_array(%s, E'\\x1f'), string_to_array(%s, E'\\x1f')) AS k(platform, account_id)
CROSS JOIN LATERAL (
    SELECT id, handle <> '' AS has_handle FROM detection_socialaccount
    WHERE sample_id = %s AND platform = k.platform AND account_id = k.account_id LIMIT 1
) a
"""
_LOOKUP_POSTS = """
SELECT k.platform, k.post_id, p.id
FROM unnest(string_to_array(%s, E'\\x1f'), string_to_array(%s, E'\\x1f')) AS k(platform, post_id)
CROSS JOIN LATERAL (
    SELECT id FROM detection_post WHERE sample_id = %s AND platform = k.platform AND post_id = k.post_id LIMIT 1
) p
"""
_ACCOUNTS_STAGING = f"""
CREATE TEMP TABLE import_accounts (
    id bigint, platform text, account_id text, {", ".join(f"{c} text" for c in ACCOUNT_TEXT)},
    created_at timestamptz, followers bigint, following bigint, post_count bigint
) ON COMMIT DROP
"""


def _blank_filled(column: str) -> tuple[str, str]:
    """An empty stored text takes the staged one."""
    return (
        f"{column} = CASE WHEN t.{column} = '' THEN s.{column} ELSE t.{column} END",
        f"(t.{column} = '' AND s.{column} <> '')",
    )


def _null_filled(column: str) -> tuple[str, str]:
    """A missing stored value takes the staged one."""
    return f"{column} = coalesce(t.{column}, s.{column})", f"(t.{column} IS NULL AND s.{column} IS NOT NULL)"


def _list_extended(column: str) -> tuple[str, str]:
    """A stored list gains the staged items it lacks, at its end, in order."""
    return f"{column} = detection_jsonb_union(t.{column}, s.{column})", f"NOT t.{column} @> s.{column}"


def _merge_statement(table: str, staging: str, rules: list[tuple[str, str]]) -> str:
    """One UPDATE of the stored rows from the staging table by id, each column by its rule (its assignment and
    the test that it changes anything); only the rows it changes are written, and it returns their count."""
    assignments, changes = zip(*rules, strict=True)
    return f"""
WITH merged AS (
    UPDATE {table} t SET
        {", ".join(assignments)}
    FROM {staging} s
    WHERE t.id = s.id AND ({" OR ".join(changes)})
    RETURNING 1
)
SELECT count(*) FROM merged
"""


# `batches.account_values_merged` in SQL: each empty field takes the value seen again.
_ACCOUNTS_MERGE = _merge_statement(
    "detection_socialaccount",
    "import_accounts",
    [*map(_blank_filled, ACCOUNT_TEXT), *map(_null_filled, ACCOUNT_NULLABLE)],
)

_POSTS_STAGING = f"""
CREATE TEMP TABLE import_posts (
    id bigint, platform text, post_id text, created_at timestamptz,
    {", ".join(f"{c} text" for c in POST_SCALARS)}, {", ".join(f"{c} jsonb" for c in POST_LISTS)}
) ON COMMIT DROP
"""
# `merge_post` (detection/engine/records.py) in SQL: an empty scalar takes the value seen again, a list gains
# the items it lacks at its end, in order (detection_jsonb_union, created by migration 0002). The stored
# normalised text is a scalar of its own here, as in the ORM writer. Who posted and when are never updated.
_POSTS_MERGE = _merge_statement(
    "detection_post", "import_posts", [*map(_blank_filled, POST_SCALARS), *map(_list_extended, POST_LISTS)]
)
_LINK_STORED = """
INSERT INTO detection_samplepost (sample_id, post_id) SELECT %s, unnest(%s::bigint[]) ON CONFLICT DO NOTHING
"""


class ImportMemory:
    """What an import has learned from its committed batches, to spare the next ones work.

    `ids`: primary keys of the accounts stored or met, and whether each has a handle. The reader leaves
    authors that an earlier batch carried out of a batch's accounts (`batches.CarriedAuthors`): their
    keys come from here, without a lookup.
    `posts_all_new`: no batch has met a post stored already. While it holds, a batch's posts are COPYed
    without a lookup first; the unique constraint tells when one is not new after all.
    """

    CAP = 500_000  # past this many accounts (about 125 MB), forget them all rather than grow without bound

    def __init__(self) -> None:
        self.ids: dict[Key, tuple[int, bool]] = {}
        self.posts_all_new = True

    def learn(self, stored: Stored) -> None:
        if len(self.ids) + len(stored.account_ids) > self.CAP:
            self.ids.clear()
        self.ids.update(stored.account_ids)
        self.posts_all_new = self.posts_all_new and stored.posts_all_new


def _account_line(key: Key, values: dict) -> str:
    texts = copy_line([*key, *[values[c] or "" for c in ACCOUNT_TEXT]])
    return "\t".join([texts, *[_nullable_text(values[name]) for name in ACCOUNT_NULLABLE]])


def _nullable_text(value) -> str:
    """A time or a count as COPY text: nothing in either needs escaping."""
    if value is None:
        return "\\N"
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


@dataclass
class Stored:
    """What a batch did: (inserted, updated) for accounts and posts, and the account keys it learned."""

    accounts: tuple[int, int]
    posts: tuple[int, int]
    account_ids: dict[Key, tuple[int, bool]]
    posts_all_new: bool


class PgCopyWriter:
    """The `BatchWriter` for PostgreSQL: new rows by COPY, rows stored already merged by one UPDATE in SQL."""

    copy_text = True

    def __init__(self, sample_id: int) -> None:
        self.sample_id = sample_id
        self.memory = ImportMemory()
        self._written: Stored | None = None

    def write(self, batch: Batch) -> WriteCounts:
        """Store the batch among the sample's own records (every lookup, merge and insert stays within them)."""
        self._written = _batch_store(self.sample_id, batch.payload, self.memory)
        return WriteCounts(accounts=self._written.accounts, posts=self._written.posts)

    def committed(self) -> None:
        """Learn the accounts and posts of the last batch written, now that they are committed."""
        if self._written is not None:
            self.memory.learn(self._written)
            self._written = None


def _batch_store(sample_id: int, payload: Payload, memory: ImportMemory) -> Stored:
    """Store one batch inside the caller's transaction; `memory` is read, never changed (the writer learns from
    the result once the transaction has committed)."""
    with connection.cursor() as cursor:
        # The batch and its checkpoint commit together, so a crash that loses this commit loses both: the
        # import resumes from the previous checkpoint. No need to wait for the WAL flush.
        cursor.execute("SET LOCAL synchronous_commit = off")
        # Every statement here joins one batch's keys to a large table through its unique index. Right after a
        # bulk load the planner's row counts are stale (a table of a million posts still "holds" thirty
        # thousand until autovacuum analyses it) and it hashes the whole table for each batch instead.
        cursor.execute("SET LOCAL enable_hashjoin = off")
        cursor.execute("SET LOCAL enable_mergejoin = off")
        author_pks, learned, account_counts = _store_accounts(cursor, sample_id, payload, memory)
        if memory.posts_all_new and _copy_posts_if_all_new(cursor, sample_id, payload, author_pks):
            return Stored(account_counts, (payload.posts, 0), learned, posts_all_new=True)
        post_counts = _store_posts(cursor, sample_id, payload, author_pks)
    return Stored(account_counts, post_counts, learned, posts_all_new=False)


def _lookup(cursor, statement: str, sample_id: int, platforms: str, ids: str) -> list[tuple]:
    """Rows of the sample for the keys given as two strings joined with KEY_SEPARATOR."""
    if not ids:
        return []
    cursor.execute(statement, [platforms, ids, sample_id])
    return cursor.fetchall()


def _joined(keys: list[Key]) -> tuple[str, str]:
    return KEY_SEPARATOR.join([k[0] for k in keys]), KEY_SEPARATOR.join([k[1] for k in keys])


def _store_accounts(
    cursor, sample_id: int, payload: Payload, known: ImportMemory
) -> tuple[list[bytes], dict, tuple[int, int]]:
    """Store the new accounts the batch names and merge into the others.

    Returns the primary keys of `payload.authors`, in order, as COPY text; the accounts this batch stored or
    found (keys, and whether each has a handle) for the memory; and (inserted, merged).
    """
    authors = payload.authors
    remembered = list(map(known.ids.get, authors))
    wanted = dict.fromkeys(payload.accounts)  # always looked up: their values may have to be merged
    wanted.update(dict.fromkeys([a for a, ids in zip(authors, remembered, strict=True) if ids is None]))
    keys = list(wanted)
    learned: dict[Key, tuple[int, bool]] = {}
    for platform, account_id, pk, has_handle in _lookup(cursor, _LOOKUP_ACCOUNTS, sample_id, *_joined(keys)):
        learned[(platform, account_id)] = (pk, has_handle)
    new = [key for key in keys if key not in learned]
    empty = dict.fromkeys((*ACCOUNT_TEXT, *ACCOUNT_NULLABLE))
    lines = []
    for key, pk in zip(new, next_ids(cursor, "detection_socialaccount", len(new)), strict=True):
        values = payload.accounts.get(key, empty)
        learned[key] = (int(pk), bool(values["handle"]))
        lines.append(f"{pk.decode()}\t{sample_id}\t{_account_line(key, values)}")
    copy_in(cursor, f"COPY detection_socialaccount (id, sample_id, {_ACCOUNT_COLUMNS}) FROM STDIN", copy_bytes(lines))

    new_keys = set(new)
    stored = [key for key in payload.accounts if key not in new_keys and carries_values(payload.accounts[key])]
    merged = 0
    if stored:
        cursor.execute(_ACCOUNTS_STAGING)
        copy_in(
            cursor,
            f"COPY import_accounts (id, {_ACCOUNT_COLUMNS}) FROM STDIN",
            copy_bytes([f"{learned[k][0]}\t{_account_line(k, payload.accounts[k])}" for k in stored]),
        )
        cursor.execute(_ACCOUNTS_MERGE)
        (merged,) = cursor.fetchone()
        cursor.execute("DROP TABLE import_accounts")
        for key in stored:
            if payload.accounts[key]["handle"]:
                learned[key] = (learned[key][0], True)
    author_pks = [str((ids or learned[a])[0]).encode() for a, ids in zip(authors, remembered, strict=True)]
    return author_pks, learned, (len(new), merged)


def _copy_new_posts(cursor, sample_id: int, payload: Payload, author_pks: list[bytes], new: list[int] | None) -> None:
    """COPY the posts at these positions of the batch (all of them for None), and their links to the sample."""
    lines = payload.post_line_list()
    post_author_pks = [author_pks[i] for i in payload.post_author_index]
    if new is not None:
        lines = [lines[i] for i in new]
        post_author_pks = [post_author_pks[i] for i in new]
    if not lines:
        return
    ids = next_ids(cursor, "detection_post", len(lines))
    sample_column = b"%d" % sample_id
    rows = b"\n".join(map(b"\t".join, zip(ids, repeat(sample_column), post_author_pks, lines)))
    copy_in(cursor, f"COPY detection_post (id, sample_id, account_id, {_POST_COLUMNS}) FROM STDIN", rows + b"\n")
    sample = b"%d\t" % sample_id
    links = sample + (b"\n" + sample).join(ids) + b"\n"
    copy_in(cursor, "COPY detection_samplepost (sample_id, post_id) FROM STDIN", links)


def _copy_posts_if_all_new(cursor, sample_id: int, payload: Payload, author_pks: list[bytes]) -> bool:
    """COPY every post of the batch without looking any up first; False (and nothing written) if one is stored."""
    try:
        with transaction.atomic():  # a savepoint: a post stored already undoes only this attempt
            _copy_new_posts(cursor, sample_id, payload, author_pks, None)
    except IntegrityError:
        return False
    return True


def _store_posts(cursor, sample_id: int, payload: Payload, author_pks: list[bytes]) -> tuple[int, int]:
    keys = payload.post_keys()
    found = _lookup(cursor, _LOOKUP_POSTS, sample_id, payload.post_platforms, payload.post_ids)
    stored = {(platform, post_id): pk for platform, post_id, pk in found}
    new = [i for i, key in enumerate(keys) if key not in stored]
    _copy_new_posts(cursor, sample_id, payload, author_pks, new)
    merged = 0
    if stored:
        lines = payload.post_line_list()
        cursor.execute(_POSTS_STAGING)
        copy_in(
            cursor,
            f"COPY import_posts (id, {_POST_COLUMNS}) FROM STDIN",
            b"".join(
                [b"%d\t%b\n" % (stored[key], line) for key, line in zip(keys, lines, strict=True) if key in stored]
            ),
        )
        cursor.execute(_POSTS_MERGE)
        (merged,) = cursor.fetchone()
        cursor.execute("DROP TABLE import_posts")
        cursor.execute(_LINK_STORED, [sample_id, list(stored.values())])
    return len(new), merged
