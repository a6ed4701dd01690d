"""The reading loop every layout shares: from an opened file to records and row errors, with their line numbers.

Pure standard library. Every data row gives exactly one PostRecord/AccountRecord or one RowError (a layout with
`authors` also gives an author's AccountRecord at its first post), so callers can count rows_read = records +
errors. A row is checked for its field count and size caps, built by its layout's column map, and rejected with
its line and reason when a field is invalid. Problems with the whole file (encoding, unknown layout, inflating
past the cap, damaged gzip) raise SampleFileError.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import replace
from typing import Any

from detection.engine.normalise import _control_search, clean_text
from detection.engine.readers.columns import ACCOUNT, NORMALISED_POST, CsvLayout, JsonLayout, csv_builder, json_builder
from detection.engine.readers.formats import CSV_LAYOUTS_BY_PRECEDENCE, FORMATS, LAYOUTS, PROSE_COLUMNS
from detection.engine.readers.limits import ReadLimits
from detection.engine.readers.stream import _BLANK_LINES, Source, _first_line, _Lines, _Opened
from detection.engine.readers.values import _Bad, _default_platform, _raw
from detection.engine.records import AccountRecord, PostRecord, RowError, SampleFileError

Record = PostRecord | AccountRecord | RowError
Rows = Iterator[tuple[int, list[str]] | RowError]

_MAX_COLUMN_NAME_CHARS = 1_000


def _raise_csv_field_limit(chars: int) -> None:
    """Let the csv module read fields of `chars` characters, in every process alike (its limit is module-wide
    state, 131,072 in a fresh interpreter): only ever raised, since other readers in the process share it."""
    if csv.field_size_limit() < chars:
        csv.field_size_limit(chars)


def _header(line: str) -> tuple[list[str], str]:
    """The column names of a header line and its delimiter; a cell too long for a column name refuses the file."""
    delimiter = "\t" if "\t" in line and "," not in line else ","
    _raise_csv_field_limit(len(line))
    cells = next(csv.reader([line], delimiter=delimiter))
    longest = max(map(len, cells), default=0)
    if longest > _MAX_COLUMN_NAME_CHARS:
        raise SampleFileError(
            f"the first line has a cell of {longest:,} characters, more than a column name may have "
            f"({_MAX_COLUMN_NAME_CHARS:,}): it is not a header"
        )
    return [clean_text(c).strip().lstrip("\ufeff").lower() for c in cells], delimiter


def _detect(line: str) -> CsvLayout | JsonLayout:
    if line.lstrip().startswith("{"):
        return LAYOUTS["canonical-jsonl"]
    columns, _ = _header(line)
    found = set(columns)
    for layout in CSV_LAYOUTS_BY_PRECEDENCE:
        if layout.recognises(found):
            return layout
    shown = ", ".join(columns[:12])
    raise SampleFileError(f"unknown layout: no supported format has the columns {shown}")


def detect_format(source: Source) -> str:
    """The format name of a sample, from its header (a file object is rewound when it is seekable)."""
    position = None
    if not isinstance(source, str | os.PathLike) and getattr(source, "seekable", lambda: False)():
        position = source.tell()  # type: ignore[union-attr]
    opened = _Opened(source, ReadLimits())
    try:
        return _detect(_first_line(opened, ReadLimits().max_line_chars)[0]).name
    finally:
        opened.close()
        if position is not None:
            source.seek(position)  # type: ignore[union-attr]


def layout_columns(format: str) -> tuple[list[str], list[str]]:  # noqa: A002 - the name callers use
    """The columns a CSV layout reads, as (required, optional), each in the order of its map."""
    layout = LAYOUTS[format]
    if not isinstance(layout, CsvLayout):
        raise ValueError(f"{format} is not a CSV layout")
    read = dict.fromkeys(c for f in (*layout.fields, *layout.authors) for c in f.sources)
    return list(layout.required), [c for c in read if c not in layout.required]


def unknown_columns(source: Source, format: str) -> list[str]:  # noqa: A002 - the name callers use
    """The columns of a CSV file's header that its layout does not read (they are ignored), in header order;
    none for JSON Lines, whose keys vary from line to line."""
    if not isinstance(LAYOUTS[format], CsvLayout):
        return []
    opened = _Opened(source, ReadLimits())
    try:
        columns, _ = _header(_first_line(opened, ReadLimits().max_line_chars)[0])
    finally:
        opened.close()
    required, optional = layout_columns(format)
    known = {*required, *optional}
    return [c for c in dict.fromkeys(columns) if c and c not in known]


def read_sample(
    source: Source,
    format: str | None = None,  # noqa: A002 - the public name callers use
    *,
    platform: str | None = None,
    limits: ReadLimits | None = None,
) -> Iterator[Record]:
    """Stream the records of a sample file (format detected from the header when None), one per data row."""
    if format is not None and format not in FORMATS:
        raise ValueError(f"unknown format {format!r}; known: {', '.join(FORMATS)}")
    return _read(source, format, _default_platform(platform), limits or ReadLimits())


def _read(source: Source, fmt: str | None, platform: str | None, limits: ReadLimits) -> Iterator[Record]:
    opened = _Opened(source, limits)
    try:
        first, lines_before = _first_line(opened, limits.max_line_chars)
        layout = _detect(first) if fmt is None else LAYOUTS[fmt]
        if isinstance(layout, JsonLayout):
            yield from _json_records(opened, first, lines_before, layout, platform, limits)
            return
        rows, index = csv_source(opened, first, lines_before, layout, limits)
        yield from csv_records(rows, layout, index, platform, limits)
    finally:
        opened.close()


def csv_source(
    opened: _Opened, first: str, lines_before: int, layout: CsvLayout, limits: ReadLimits
) -> tuple[Rows, dict[str, int]]:
    """The data rows of a CSV layout after its header line, and each column's position."""
    columns, delimiter = _header(first)
    missing = [c for c in layout.required if c not in columns]
    if missing:
        raise SampleFileError(f"not a {layout.name} file: missing column(s) {', '.join(missing)}")
    index = {name: i for i, name in reversed(list(enumerate(columns)))}
    return _csv_rows(opened, columns, lines_before, delimiter, limits), index


def check_platform_given(layout: CsvLayout, index: dict[str, int], platform: str | None) -> None:
    """Refuse a file of a layout that needs a platform when neither a column nor the caller gives it."""
    if layout.needs_platform and "platform" not in index and platform is None:
        raise SampleFileError("the file has no platform column: pass platform=...")


def csv_records(
    rows: Rows, layout: CsvLayout, index: dict[str, int], platform: str | None, limits: ReadLimits
) -> Iterator[Record]:
    """The records of a CSV layout's rows (a record or a RowError each, and each author's account at its first post)."""
    check_platform_given(layout, index, platform)
    build = csv_builder(layout.fields, layout.record, index)(platform, limits)
    author = csv_builder(layout.authors, ACCOUNT, index)(platform, limits) if layout.authors else None
    seen: set[str] = set()
    for item in rows:
        if type(item) is RowError:
            yield item
            continue
        line, row = item  # type: ignore[misc]
        try:
            record = build(line, row)
            account = None
            if author is not None and record.account_id not in seen:
                account = author(line, row)
        except _Bad as bad:
            yield RowError(line, bad.field, bad.reason, _raw(row))
            continue
        if account is not None:
            seen.add(account.account_id)
            yield account
        yield record


class _LineTooLong(Exception):
    """A physical line over the cap was skipped (internal: becomes a RowError)."""


class _BoundedLines:
    """Physical lines for the csv module; a line over the cap is skipped in pieces, never held whole."""

    __slots__ = ("_lines", "_cap", "skipped")

    def __init__(self, lines: _Lines, cap: int) -> None:
        self._lines = lines
        self._cap = cap
        self.skipped = 0

    def __iter__(self) -> _BoundedLines:
        return self

    def __next__(self) -> str:
        lines = self._lines
        line = lines.readline(self._cap)
        if len(line) < self._cap or line[-1] in "\r\n":
            if len(line) <= 2:
                if not line:
                    raise StopIteration
                if line in _BLANK_LINES:
                    return lines.blank(line)
            return line
        while line and line[-1] not in "\r\n":
            line = lines.readline(self._cap)
        self.skipped += 1
        raise _LineTooLong


def _csv_rows(
    opened: _Opened, columns: list[str], lines_before: int, delimiter: str, limits: ReadLimits
) -> Iterator[tuple[int, list[str]] | RowError]:
    """Data rows with their starting line, checked for field count, size caps and cleaned of control chars."""
    _raise_csv_field_limit(limits.max_line_chars)
    physical = opened.lines
    extra_before = physical.extra  # the blank lines before the header are in lines_before already
    lines = _BoundedLines(physical, limits.max_line_chars)
    reader = csv.reader(lines, delimiter=delimiter, strict=False)
    width = len(columns)
    id_cap = limits.max_id_chars
    caps = [limits.max_field_chars if c in PROSE_COLUMNS else id_cap for c in columns]
    min_cap = min(caps)
    done = 0  # physical lines consumed so far
    while True:
        try:
            for row in reader:
                line = lines_before + done + 1
                done = reader.line_num + lines.skipped + physical.extra - extra_before
                if len(row) != width:
                    if not row:
                        continue
                    yield RowError(line, "", f"expected {width} fields, found {len(row)}", _raw(row))
                    continue
                joined = "".join(row)
                if len(joined) > min_cap:
                    over = next((i for i, v in enumerate(row) if len(v) > caps[i]), None)
                    if over is not None:
                        yield RowError(
                            line,
                            columns[over],
                            f"{len(row[over]):,} characters, over the cap of {caps[over]:,}",
                            _raw(row),
                        )
                        continue
                if _control_search(joined) is not None:
                    row = [clean_text(v) for v in row]
                yield line, row
            return
        except csv.Error as exc:
            line = lines_before + done + 1
            done = reader.line_num + lines.skipped + physical.extra - extra_before
            yield RowError(line, "", f"malformed CSV: {exc}", "")
        except _LineTooLong:
            line = lines_before + done + 1
            done = reader.line_num + lines.skipped + physical.extra - extra_before
            yield RowError(line, "", f"a line longer than the cap of {limits.max_line_chars:,} characters", "")
        except UnicodeDecodeError as exc:
            raise opened.bytes.decode_error(exc, lines_before + done + 1) from None


# ---------------------------------------------------------------------------------------------------------
# JSON Lines


def _json_depth(value: Any, limit: int) -> int:
    """Nesting depth of a parsed JSON value (1 for a flat object), stopping early past the limit."""
    depth = 0
    level = [value]
    while level:
        depth += 1
        if depth > limit:
            return depth
        nxt = []
        for v in level:
            if type(v) is dict:
                nxt.extend(x for x in v.values() if type(x) is dict or type(x) is list)
            elif type(v) is list:
                nxt.extend(x for x in v if type(x) is dict or type(x) is list)
        level = nxt
    return depth


def _jsonl_lines(opened: _Opened, first: str, line_no: int, cap: int) -> Iterator[tuple[int, str | None]]:
    """Physical lines with their numbers; None for a line longer than the cap (skipped, never held whole)."""
    lines = opened.lines
    extra = lines.extra
    text = first
    while True:
        if len(text) > cap and text[0] not in "\r\n":  # a run of blank lines is never too long
            while text and not text.endswith(("\n", "\r")):
                try:
                    text = lines.readline(cap + 1)
                except UnicodeDecodeError as exc:
                    raise opened.bytes.decode_error(exc, line_no) from None
            yield line_no, None
        else:
            yield line_no, text
        try:
            text = lines.readline(cap + 1)
            if len(text) <= 2 and text in _BLANK_LINES:
                text = lines.blank(text)
        except UnicodeDecodeError as exc:
            raise opened.bytes.decode_error(exc, line_no + 1) from None
        if not text:
            return
        line_no += 1 + lines.extra - extra  # a run of blank lines is several lines
        extra = lines.extra


def _json_records(
    opened: _Opened, first: str, lines_before: int, layout: JsonLayout, platform: str | None, limits: ReadLimits
) -> Iterator[Record]:
    cap = limits.max_line_chars
    loads = json.loads
    depth_cap = limits.max_json_depth
    build_post = json_builder(layout.posts, NORMALISED_POST)(platform, limits)
    build_account = json_builder(layout.accounts, ACCOUNT)(platform, limits)
    is_account = layout.is_account
    for line_no, text in _jsonl_lines(opened, first, lines_before, cap):
        if text is None:
            yield RowError(line_no, "", f"line longer than the cap of {cap:,} characters", "")
            continue
        stripped = text.strip()
        if not stripped:
            continue
        try:
            obj = loads(stripped)
        except RecursionError:
            yield RowError(line_no, "", f"JSON nested deeper than {depth_cap}", clean_text(stripped[:300]))
            continue
        except ValueError as exc:
            yield RowError(line_no, "", f"not valid JSON: {exc}", clean_text(stripped[:300]))
            continue
        if type(obj) is not dict:
            yield RowError(line_no, "", f"not a JSON object but {type(obj).__name__}", clean_text(stripped[:300]))
            continue
        # Each level of nesting needs a bracket, so a line with few brackets cannot be too deep.
        if stripped.count("{") + stripped.count("[") > depth_cap and _json_depth(obj, depth_cap) > depth_cap:
            yield RowError(line_no, "", f"JSON nested deeper than {depth_cap}", clean_text(stripped[:300]))
            continue
        try:
            record = build_account(line_no, obj) if is_account(obj) else build_post(line_no, obj)
        except _Bad as bad:
            yield RowError(line_no, bad.field, bad.reason, clean_text(stripped[:300]))
            continue
        yield record


# ---------------------------------------------------------------------------------------------------------
# Duplicates


_LIST_FIELDS = ("hashtags", "mentions", "media_hashes")
_SCALAR_FIELDS = ("text", "reshare_of", "reply_to", "quote_of", "lang", "handle")


def merge_post_records(records: Iterable[Record]) -> Iterator[Record]:
    """Merge posts sharing (platform, post_id): union of list fields in first-seen order, first line number.

    Memory: one record per distinct post is held until the input ends (the merged posts are yielded then, in
    first-seen order); account records and row errors pass through at once.
    """
    first: dict[tuple[str, str], PostRecord] = {}
    extra: dict[tuple[str, str], list[PostRecord]] = {}
    for record in records:
        if type(record) is not PostRecord:
            yield record
            continue
        key = (record.platform, record.post_id)
        if key in first:
            extra.setdefault(key, []).append(record)
        else:
            first[key] = record
    for key, record in first.items():
        more = extra.get(key)
        yield record if more is None else _merge(record, more)


def _merge(record: PostRecord, more: list[PostRecord]) -> PostRecord:
    group = [record, *more]
    pairs = dict.fromkeys(pair for r in group for pair in zip(r.urls, r.normalised_urls, strict=False))
    changes: dict[str, Any] = {
        "urls": tuple(u for u, _ in pairs),
        "normalised_urls": tuple(n for _, n in pairs),
        "domains": tuple(dict.fromkeys(d for r in group for d in r.domains)),
    }
    for name in _LIST_FIELDS:
        changes[name] = tuple(dict.fromkeys(v for r in group for v in getattr(r, name)))
    for name in _SCALAR_FIELDS:
        if not getattr(record, name):
            changes[name] = next((getattr(r, name) for r in more if getattr(r, name)), "")
    return replace(record, **changes)
