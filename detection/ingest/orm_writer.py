"""The portable writer of the sample import (SQLite, or any database): merges in Python, inserts with bulk_create."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from django.db.models import Model

from detection.engine.normalise import normalise_text
from detection.engine.records import PostRecord, merge_post
from detection.ingest.batches import ACCOUNT_FIELDS, POST_LISTS, POST_SCALARS, Batch, Key, account_values_merged
from detection.ingest.writers import WriteCounts
from detection.models import Post, SamplePost, SocialAccount

# The post's scalar columns that are fields of its record; the normalised text is derived from the text.
_RECORD_SCALARS = tuple(name for name in POST_SCALARS if name != "text_normalised")
_NULLABLE = frozenset({"created_at", "followers", "following", "post_count"})


class OrmWriter:
    """The `BatchWriter` for any database: rows stored already are read, merged by `merge_post`, and updated."""

    copy_text = False

    def __init__(self, sample_id: int) -> None:
        self.sample_id = sample_id

    def write(self, batch: Batch) -> WriteCounts:
        """Store the batch among the sample's own records (every lookup, merge and insert stays within them)."""
        account_pks, account_counts = _accounts_upsert(self.sample_id, batch.accounts)
        post_pks, post_counts = _posts_upsert(self.sample_id, batch.posts, account_pks)
        _sample_posts_link(self.sample_id, post_pks.values())
        return WriteCounts(accounts=account_counts, posts=post_counts)

    def committed(self) -> None:
        """Nothing to keep: every batch looks its keys up again."""


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
        merged = account_values_merged(row, accounts[key])
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


def _normalised(text: str) -> str:
    return normalise_text(text) if text else ""


def _post_columns(record: PostRecord) -> list:
    """A new post's values for POST_SCALARS then POST_LISTS."""
    scalars = {name: getattr(record, name) for name in _RECORD_SCALARS} | {"text_normalised": _normalised(record.text)}
    return [*[scalars[name] for name in POST_SCALARS], *[list(getattr(record, name)) for name in POST_LISTS]]


def _post_merged(row: dict, record: PostRecord) -> dict | None:
    """The stored post's mergeable columns after `merge_post(stored, record)`, or None when nothing changes.

    The normalised text, a column of its own, follows the rule of the scalars: filled only when empty, as the
    PostgreSQL writer's SQL does.
    """
    # Only the fields a merge can change are read back from the row; the rest of `stored` is never written.
    stored = replace(
        record, **{name: row[name] for name in _RECORD_SCALARS}, **{name: tuple(row[name]) for name in POST_LISTS}
    )
    merged = merge_post(stored, record)
    text_normalised = row["text_normalised"] or _normalised(record.text)
    if merged is stored and text_normalised == row["text_normalised"]:
        return None
    return {
        **{name: getattr(merged, name) for name in _RECORD_SCALARS},
        "text_normalised": text_normalised,
        **{name: list(getattr(merged, name)) for name in POST_LISTS},
    }


def _posts_upsert(
    sample_id: int, posts: dict[Key, PostRecord], account_pks: dict[Key, int]
) -> tuple[dict[Key, int], tuple[int, int]]:
    existing = _existing(Post, sample_id, posts, "post_id", (*POST_SCALARS, *POST_LISTS))
    pks = {key: row["pk"] for key, row in existing.items()}
    changed = []
    for key, row in existing.items():
        merged = _post_merged(row, posts[key])
        if merged:
            changed.append(Post(pk=row["pk"], **merged))
    if changed:
        Post.objects.bulk_update(changed, [*POST_SCALARS, *POST_LISTS], batch_size=1000)
    new_keys = [key for key in posts if key not in existing]
    columns = ["sample_id", "platform", "post_id", "account_id", "created_at", *POST_SCALARS, *POST_LISTS]
    rows = []
    for key in new_keys:
        record = posts[key]
        account_pk = account_pks[(record.platform, record.account_id)]
        rows.append((sample_id, *key, account_pk, record.created_at, *_post_columns(record)))
    pks.update(zip(new_keys, _insert(Post, columns, rows), strict=True))
    return pks, (len(new_keys), len(changed))


def _insert(model: type[Model], columns: list[str], rows: list[tuple]) -> list[int]:
    """Insert new rows and return their primary keys in order."""
    objs = model.objects.bulk_create([model(**dict(zip(columns, row, strict=True))) for row in rows], batch_size=2000)
    return [obj.pk for obj in objs]


def _sample_posts_link(sample_id: int, post_pks: Iterable[int]) -> None:
    """Add posts to a sample; links already there are left alone."""
    SamplePost.objects.bulk_create(
        [SamplePost(sample_id=sample_id, post_id=pk) for pk in post_pks], batch_size=2000, ignore_conflicts=True
    )
