"""The canonical posts CSV a chunk of rows at a time, for bulk imports: clean chunks as columns, others row by row.

Bulk imports mostly bring the canonical layout. Read row by row, each row costs a dozen Python calls; a chunk's
clean rows are almost all alike, so the checks and normalisations run over whole columns instead (C-level map,
zip and join, and each distinct timestamp, platform or list cell worked out once). A chunk with anything unusual
(a rejected row, an in-file duplicate, a value that fails a check) is read row by row, so every error is reported
exactly as `read_sample` reports it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from itertools import islice
from operator import attrgetter
from typing import Any

from detection.engine.readers.canonical import CANONICAL_CSV
from detection.engine.readers.limits import ReadLimits
from detection.engine.readers.loop import Record, check_platform_given, csv_records, csv_source
from detection.engine.readers.stream import Source, _first_line, _Opened
from detection.engine.readers.values import (
    _NO_URLS,
    _PLATFORM_ALIASES,
    _Bad,
    _canonical_items,
    _default_platform,
    _hashtag_field,
    _media_field,
    _mention_field,
    _new_post,
    _row_platform,
    _time,
    _url_fields,
)
from detection.engine.records import PostRecord, RowError


@dataclass(slots=True)
class PostColumns:
    """A chunk of valid, distinct canonical posts as columns, with the values a PostRecord would hold."""

    platforms: list[str]
    post_ids: list[str]
    account_ids: list[str]
    created_at: list[datetime]
    texts: Sequence[str]
    reshare_of: Sequence[str]
    reply_to: Sequence[str]
    quote_of: Sequence[str]
    urls: Sequence[tuple[str, ...]]
    normalised_urls: Sequence[tuple[str, ...]]
    domains: Sequence[tuple[str, ...]]
    hashtags: Sequence[tuple[str, ...]]
    mentions: Sequence[tuple[str, ...]]
    media_hashes: Sequence[tuple[str, ...]]
    langs: Sequence[str]
    handles: Sequence[str]

    @classmethod
    def from_records(cls, records: list[PostRecord]) -> PostColumns:
        return cls(*(list(map(attrgetter(name), records)) for name in _RECORD_FIELDS))

    def records(self) -> Iterator[PostRecord]:
        """The same posts as records (line numbers are not kept: a chunk read this way has no errors)."""
        for values in zip(*(getattr(self, f.name) for f in fields(self)), strict=True):
            yield _new_post(*values[:4], 0, *values[4:])


# PostRecord's fields in PostColumns's order: all but the line number, which is not a column.
_RECORD_FIELDS = tuple(f.name for f in fields(PostRecord) if f.name != "line")


@dataclass(slots=True)
class CanonicalChunk:
    """Up to `chunk_rows` consecutive rows of a canonical posts CSV, each a (line, cells) pair or a RowError."""

    items: list[tuple[int, list[str]] | RowError]
    index: dict[str, int]
    platform: str | None
    limits: ReadLimits

    def records(self) -> Iterator[Record]:
        """The rows read one by one: a record or a RowError each, as `read_sample` gives them."""
        return csv_records(iter(self.items), CANONICAL_CSV, self.index, self.platform, self.limits)

    def columns(self) -> PostColumns | None:
        """The rows as columns, or None when any of them needs reading row by row (an error, a duplicate)."""
        items = self.items
        if any(type(item) is RowError for item in items):
            return None
        n = len(items)
        cells = list(zip(*[item[1] for item in items], strict=True))  # type: ignore[index]
        blank = ("",) * n
        index, limits = self.index, self.limits

        def column(name: str) -> Sequence[str]:
            at = index.get(name, -1)
            return cells[at] if at >= 0 and n else blank

        try:
            platform_names = {
                v: _PLATFORM_ALIASES.get(v) or _row_platform(v, self.platform) for v in set(column("platform"))
            }
            platforms = list(map(platform_names.__getitem__, column("platform")))
            post_ids = list(map(str.strip, column("post_id")))
            account_ids = list(map(str.strip, column("account_id")))
            if not all(post_ids) or not all(account_ids) or len(set(zip(platforms, post_ids, strict=True))) != n:
                return None
            times = {v: _time(v, "created_at") for v in set(column("created_at"))}
            urls = _list_column(column("urls"), lambda items: _url_fields(items, limits), _NO_URLS)
            hashtags = _list_column(column("hashtags"), lambda items: _hashtag_field(items, limits), ())
            mentions = _list_column(column("mentions"), lambda items: _mention_field(items, limits), ())
            media = _list_column(column("media_hashes"), lambda items: _media_field(items, limits), ())
        except _Bad:
            return None
        handles = column("handle")
        url_given, url_normalised, url_domains = zip(*urls, strict=True) if n else ((), (), ())
        return PostColumns(
            platforms=platforms,
            post_ids=post_ids,
            account_ids=account_ids,
            created_at=list(map(times.__getitem__, column("created_at"))),
            texts=column("text"),
            reshare_of=_stripped(column("reshare_of")),
            reply_to=_stripped(column("reply_to")),
            quote_of=_stripped(column("quote_of")),
            urls=url_given,
            normalised_urls=url_normalised,
            domains=url_domains,
            hashtags=hashtags,
            mentions=mentions,
            media_hashes=media,
            langs=_stripped(column("lang")),
            handles=[h.strip().lstrip("@") for h in handles] if any(handles) else handles,
        )


def _stripped(values: Sequence[str]) -> Sequence[str]:
    return list(map(str.strip, values)) if any(values) else values


def _list_column(cells: Sequence[str], field: Any, empty: Any) -> list:
    """Each list cell's field value (`field` of its items), each distinct cell worked out once."""
    if not any(cells):
        return [empty] * len(cells)
    values = {cell: field(_canonical_items(cell)) if cell else empty for cell in set(cells)}
    return list(map(values.__getitem__, cells))


def read_canonical_chunks(
    source: Source,
    *,
    platform: str | None = None,
    limits: ReadLimits | None = None,
    chunk_rows: int,
    skip_rows: int = 0,
) -> Iterator[CanonicalChunk]:
    """A canonical posts CSV as chunks of `chunk_rows` rows, after the first `skip_rows`.

    Always ends with a chunk shorter than `chunk_rows` (possibly empty), so a caller sealing one batch per
    chunk seals the same batches as one reading `read_sample` row by row.
    """
    limits = limits or ReadLimits()
    default_platform = _default_platform(platform)
    opened = _Opened(source, limits)
    try:
        first, lines_before = _first_line(opened, limits.max_line_chars)
        rows, index = csv_source(opened, first, lines_before, CANONICAL_CSV, limits)
        check_platform_given(CANONICAL_CSV, index, default_platform)
        for _ in islice(rows, skip_rows):
            pass
        while True:
            items = list(islice(rows, chunk_rows))
            yield CanonicalChunk(items, index, default_platform, limits)
            if len(items) < chunk_rows:
                return
    finally:
        opened.close()
