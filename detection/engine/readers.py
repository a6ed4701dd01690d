"""Streaming readers for every sample layout researchers bring, turning files into records or row errors.

Pure standard library. A file is read once, front to back, in bounded memory: bytes are decoded incrementally
(gzip inflated on the fly, with a cap), CSV goes through the csv module and JSONL line by line. Every data row
gives exactly one PostRecord/AccountRecord or one RowError (the information-operations tweet layout also yields
one AccountRecord per distinct user, in addition), so callers can count rows_read = records + errors. Problems
with the whole file (encoding, unknown layout, inflating past the cap, damaged gzip) raise SampleFileError.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import json
import os
import re
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import MISSING, dataclass, fields, replace
from datetime import UTC, datetime
from functools import lru_cache
from itertools import islice
from operator import attrgetter, itemgetter
from typing import IO, Any

from detection.engine.normalise import (
    _control_search,
    clean_text,
    normalise_hashtag,
    normalise_mention,
    normalise_url,
    url_domain,
)
from detection.engine.records import AccountRecord, PostRecord, RowError, SampleFileError
from detection.engine.vocabularies import PLATFORMS

Record = PostRecord | AccountRecord | RowError
Source = str | os.PathLike[str] | IO[bytes]

FORMATS: dict[str, str] = {
    "canonical-csv": "the project's posts CSV: platform, post_id, account_id, created_at, text, reshare_of, "
    "reply_to, urls, hashtags, mentions, media_hashes, lang (+ quote_of, handle); lists space-separated "
    "or as a JSON array",
    "canonical-jsonl": "the project's JSON Lines: one object per line, a post (with post_id) or an account "
    "(account_id and account columns, no post_id); lists as JSON arrays",
    "canonical-accounts-csv": "the project's accounts CSV: platform, account_id, handle, display_name, "
    "created_at, followers, following, posts, description",
    "twitter-io": "X/Twitter information-operations archive tweet CSV (tweetid, userid, ... 31 columns); "
    "posts plus one account per distinct user",
    "twitter-io-users": "X/Twitter information-operations archive users CSV (userid, user_screen_name, ...)",
    "coortweet": "CooRTweet CSV: object_id (reshared post), account_id, content_id (post), timestamp_share (unix s)",
    "coortweet-german": "CooRTweet German-elections CSV: account_id, post_id, url_id, hashtag_id, domain_id, "
    "phash_id, timestamp; one row per (post, object); fb_/tw_ id prefixes give the platform",
    "cnt": "coordination-network-toolkit CSV: message_id, user_id, username, repost_id, reply_id, message, "
    "timestamp, urls (space-separated; empty means no URL)",
}

_PLATFORM_ALIASES = {p: p for p in PLATFORMS} | {"twitter": "x", "e-mail": "email", "website": "web"}

_REQUIRED: dict[str, tuple[str, ...]] = {
    "canonical-csv": ("post_id", "account_id", "created_at"),
    "canonical-accounts-csv": ("account_id",),
    "twitter-io": ("tweetid", "userid", "tweet_time"),
    "twitter-io-users": ("userid",),
    "coortweet": ("object_id", "account_id", "content_id", "timestamp_share"),
    "coortweet-german": ("account_id", "post_id", "timestamp"),
    "cnt": ("message_id", "user_id", "timestamp"),
}
# Columns that may hold prose (capped at max_field_chars); every other column is an id, a number or a short
# value (capped at max_id_chars).
_LONG_COLUMNS = frozenset(
    {
        "text",
        "urls",
        "hashtags",
        "mentions",
        "media_hashes",
        "description",
        "display_name",
        "user_display_name",
        "user_reported_location",
        "user_profile_description",
        "user_profile_url",
        "tweet_text",
        "tweet_client_name",
        "user_mentions",
        "poll_choices",
        "message",
    }
)

_HEAD_BYTES = 64 * 1024
_CHUNK = 64 * 1024
_BOM = codecs.BOM_UTF8


@dataclass(frozen=True, slots=True)
class ReadLimits:
    """Caps that keep a hostile file from exhausting memory or reaching the database."""

    max_inflated_bytes: int = 2 * 1024**3  # a gzip file inflating past this is refused as a whole
    # A gzip file is refused as soon as it has inflated to more than this many times the compressed bytes read
    # so far (real samples inflate 2.5 to 5 times), once past the floor: what one 8 KiB block of deflate can
    # inflate to, so that no file is refused on its first block.
    max_inflation_ratio: float = 100.0
    inflation_ratio_floor_bytes: int = 8 * 1024**2
    max_field_chars: int = 100_000  # text, descriptions, display names and whole list cells
    max_id_chars: int = 2_048  # ids, handles, timestamps, numbers and each list item
    max_url_chars: int = 2_048  # each URL
    max_list_items: int = 1_000  # items in one list field
    max_json_depth: int = 20
    max_line_chars: int = 2_000_000  # one JSONL line, one CSV field, and the piece a CSV line is read in


# ---------------------------------------------------------------------------------------------------------
# Fast record construction. The records are frozen dataclasses whose __init__ sets each field through
# object.__setattr__ (about 3 us per post, more than parsing the row). Building an unfrozen twin with the same
# slots and then switching its class gives an identical, still-frozen record in a quarter of the time.
# Generated from the dataclass fields, so a field added later (with its default) is never missed.


def _fast_constructor(cls: type) -> Any:
    names = [f.name for f in fields(cls)]
    namespace: dict[str, Any] = {"_cls": cls}
    params = []
    for f in fields(cls):
        if f.default is MISSING:
            params.append(f.name)
        else:
            namespace[f"_d_{f.name}"] = f.default
            params.append(f"{f.name}=_d_{f.name}")
    signature = ", ".join(params)
    src = (
        f"class _Twin:\n    __slots__ = {tuple(cls.__slots__)!r}\n"
        f"def make({signature}):\n    o = _new(_Twin)\n"
        + "".join(f"    o.{n} = {n}\n" for n in names)
        + "    o.__class__ = _cls\n    return o\n"
    )
    namespace["_new"] = object.__new__
    exec(src, namespace)  # noqa: S102 - source built above from the dataclass's own field names
    return namespace["make"]


_new_post = _fast_constructor(PostRecord)
_new_account = _fast_constructor(AccountRecord)


# ---------------------------------------------------------------------------------------------------------
# Values


def platform_name(value: str) -> str | None:
    """The controlled platform name for a value ("Twitter" -> "x"), or None when it is not one."""
    found = _PLATFORM_ALIASES.get(value)
    if found is None:
        found = _PLATFORM_ALIASES.get(value.strip().lower())
    return found


_EPOCH_MS_THRESHOLD = 100_000_000_000  # unix seconds this large would be after the year 5000: milliseconds


def parse_timestamp(value: str | int | float) -> datetime:
    """An aware UTC datetime from ISO 8601 (naive = UTC), unix seconds or milliseconds; ValueError if not."""
    if type(value) is str:
        if value.isdigit():
            n = int(value)
            return _from_unix(n / 1000 if n >= _EPOCH_MS_THRESHOLD else n)
        text = value.strip()
        if len(text) >= 10 and text[4] == "-":
            parsed = datetime.fromisoformat(text)
            if parsed.tzinfo is None:
                return parsed.replace(tzinfo=UTC)
            return parsed.astimezone(UTC)
        try:
            number = float(text)
        except ValueError:
            raise ValueError(f"unrecognised form {text[:40]!r}") from None
        return _from_unix(number / 1000 if abs(number) >= _EPOCH_MS_THRESHOLD else number)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"not a timestamp: {type(value).__name__}")
    return _from_unix(value / 1000 if abs(value) >= _EPOCH_MS_THRESHOLD else value)


def _from_unix(seconds: float) -> datetime:
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError) as exc:
        raise ValueError(f"out of range: {seconds}") from exc


def _parse_count(value: str) -> int | None:
    value = value.strip()
    if not value:
        return None
    if value.isdigit():
        return int(value)
    number = float(value)  # "1234.0" as some exports write counts; ValueError propagates
    if not number.is_integer() or number < 0:
        raise ValueError(f"not a count: {value!r}")
    return int(number)


_NONE: list[str] = []  # shared empty list; never mutated


def _split_bracketed(cell: str) -> list[str]:
    """Items of a list cell written like "[a, b]", "['a', 'b']", a JSON array, or space-separated."""
    if not cell or cell == "[]":
        return _NONE
    cell = cell.strip()
    if not cell:
        return _NONE
    if cell[0] == "[" and cell[-1] == "]":
        inner = cell[1:-1].strip()
        if not inner:
            return _NONE
        if inner[0] == '"':
            try:
                items = json.loads(cell)
            except ValueError:
                items = None
            if isinstance(items, list):
                return [str(item) for item in items if item not in (None, "")]
        return [item for item in (part.strip().strip("'\"").strip() for part in inner.split(",")) if item]
    return cell.split()


def _raw(row: list[str]) -> str:
    return clean_text(",".join(row)[:300])


class _Bad(Exception):
    """A field of the current row is invalid (internal: becomes a RowError)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(field, reason)
        self.field = field
        self.reason = reason


def _check_items(items: list[str], field: str, item_cap: int, limits: ReadLimits) -> None:
    if len(items) > limits.max_list_items:
        raise _Bad(field, f"{len(items)} items, over the cap of {limits.max_list_items}")
    for item in items:
        if len(item) > item_cap:
            raise _Bad(field, f"an item of {len(item)} characters, over the cap of {item_cap}")


def _time(value: str, field: str) -> datetime:
    if not value:
        raise _Bad(field, "missing")
    try:
        return parse_timestamp(value)
    except (ValueError, TypeError) as exc:
        raise _Bad(field, f"not a timestamp ({exc})") from None


@lru_cache(maxsize=32_768)
def _url_forms(url: str) -> tuple[str, str]:
    """Normalised URL and domain; cached because shared URLs recur (that is what co-link looks for)."""
    normalised = normalise_url(url)
    scheme_end = normalised.find("://")
    if scheme_end <= 0 or not normalised.isascii():
        return normalised, url_domain(normalised)
    # A normalised URL with an authority is "scheme://[userinfo@]host[:port]/...": cut the host out directly.
    host, _, port = normalised[scheme_end + 3 :].partition("/")[0].partition("?")[0].rpartition("@")[2].partition(":")
    if not host.replace(".", "").replace("-", "").isalnum() or not host.islower() or not (port.isdigit() or not port):
        return normalised, url_domain(normalised)
    return normalised, host[4:] if host.startswith("www.") else host


def _build_post(
    limits: ReadLimits,
    line: int,
    platform: str,
    post_id: str,
    account_id: str,
    created_at: datetime,
    text: str,
    reshare_of: str,
    reply_to: str,
    quote_of: str,
    urls: list[str],
    hashtags: list[str],
    mentions: list[str],
    media_hashes: list[str],
    lang: str,
    handle: str,
) -> PostRecord:
    url_fields = _url_fields(urls, limits) if urls else _NO_URLS
    return _new_post(
        platform,
        post_id,
        account_id,
        created_at,
        line,
        text,
        reshare_of,
        reply_to,
        quote_of,
        *url_fields,
        _hashtag_field(hashtags, limits) if hashtags else (),
        _mention_field(mentions, limits) if mentions else (),
        _media_field(media_hashes, limits) if media_hashes else (),
        lang,
        handle,
    )


_NO_URLS: tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]] = ((), (), ())


def _url_fields(urls: list[str], limits: ReadLimits) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """A post's URLs as given, normalised (same order) and their distinct domains."""
    _check_items(urls, "urls", limits.max_url_chars, limits)
    forms = list(map(_url_forms, urls))
    return tuple(urls), tuple(f[0] for f in forms), tuple(dict.fromkeys(f[1] for f in forms if f[1]))


def _hashtag_field(hashtags: list[str], limits: ReadLimits) -> tuple[str, ...]:
    _check_items(hashtags, "hashtags", limits.max_id_chars, limits)
    return tuple(dict.fromkeys(h for h in map(normalise_hashtag, hashtags) if h))


def _mention_field(mentions: list[str], limits: ReadLimits) -> tuple[str, ...]:
    _check_items(mentions, "mentions", limits.max_id_chars, limits)
    return tuple(dict.fromkeys(m for m in map(normalise_mention, mentions) if m))


def _media_field(media_hashes: list[str], limits: ReadLimits) -> tuple[str, ...]:
    _check_items(media_hashes, "media_hashes", limits.max_id_chars, limits)
    return tuple(media_hashes)


# ---------------------------------------------------------------------------------------------------------
# Bytes: open, inflate, check the encoding, decode incrementally


class _Prefixed:
    """A read-only byte stream that first returns already-read bytes, then the rest of the source."""

    def __init__(self, head: bytes, rest: Any) -> None:
        self._head = head
        self._rest = rest
        self.taken = 0  # bytes returned so far

    def read(self, size: int = -1) -> bytes:
        if self._head:
            if size is None or size < 0:
                data, self._head = self._head + self._rest.read(), b""
            else:
                data, self._head = self._head[:size], self._head[size:]
        else:
            data = self._rest.read(size)
        self.taken += len(data)
        return data


def _check_inflation(inflated: int, compressed: int, limits: ReadLimits) -> None:
    """Refuse a gzip file inflating past the cap, or past the ratio once beyond the floor."""
    if inflated > limits.max_inflated_bytes:
        raise SampleFileError(
            f"refused: the compressed file inflates past the cap of {limits.max_inflated_bytes:,} bytes "
            "(SAMPLE_MAX_INFLATED_BYTES)"
        )
    if inflated > limits.inflation_ratio_floor_bytes and inflated > limits.max_inflation_ratio * compressed:
        raise SampleFileError(
            f"refused: the compressed file inflates more than {limits.max_inflation_ratio:,g} times its size "
            f"({inflated:,} bytes from its first {compressed:,} compressed bytes; samples inflate about 2.5 to 5 "
            "times); the limit is SAMPLE_MAX_INFLATION_RATIO"
        )


class _ByteSource(io.BufferedIOBase):
    """Decoded-side bytes for the TextIOWrapper: counts them, enforces the inflation cap, names bad input."""

    def __init__(self, head: bytes, stream: Any, skipped: int, source: _Prefixed | None, limits: ReadLimits) -> None:
        super().__init__()
        self._head = head
        self._stream = stream
        self._read_more = getattr(stream, "read1", None) or stream.read
        self._source = source  # the compressed bytes, when the stream inflates them
        self._limits = limits
        self._compressed = source is not None
        self.pulled = len(head) + skipped  # bytes taken from the (inflated) stream, BOM included
        self.served = skipped  # bytes handed to the decoder, for error offsets

    def readable(self) -> bool:
        return True

    def read1(self, size: int = -1) -> bytes:
        if self._head:
            if size is None or size < 0:
                size = len(self._head)
            data, self._head = self._head[:size], self._head[size:]
        else:
            try:
                data = self._read_more(size if size and size > 0 else _CHUNK)
            except (OSError, EOFError, zlib.error) as exc:
                raise SampleFileError(f"damaged compressed data: {exc}") from None
            self.pulled += len(data)
            if self._source is not None:
                _check_inflation(self.pulled, self._source.taken, self._limits)
        self.served += len(data)
        return data

    def read(self, size: int | None = -1) -> bytes:
        if size is not None and size >= 0:
            return self.read1(size)
        parts = []
        while chunk := self.read1(_CHUNK):
            parts.append(chunk)
        return b"".join(parts)

    def decode_error(self, exc: UnicodeDecodeError, line: int) -> SampleFileError:
        offset = self.served - len(exc.object) + exc.start
        byte = exc.object[exc.start]
        where = "inflated " if self._compressed else ""
        nearby = exc.object[max(0, exc.start - 256) : exc.start + 256]
        return SampleFileError(
            f"not UTF-8: invalid byte 0x{byte:02X} at {where}byte offset {offset:,} (around line {line:,}; looks "
            f"like {_guess_legacy(nearby)}); save the file as UTF-8"
        )


_BLANK_LINES = frozenset({"\n", "\r", "\r\n"})
_LINE_END = re.compile(r"\r\n?|\n")
_LINE_ENDS = re.compile(r"[\r\n]*")
_BLANKS_BEFORE_RUN = 8


def _line_ends(text: str) -> int:
    """Physical lines in a string of line ends (\\r\\n is one line end, as readline counts)."""
    return text.count("\n") + text.count("\r") - text.count("\r\n")


class _Lines:
    """The text's physical lines, with runs of blank lines read a block at a time rather than a call per line.

    `readline` is the text's own, and a reader hands each blank line it gives to `blank`; after a few, the next
    block is read ahead and the run comes back as one string of line ends (the csv module keeps such a string
    whole inside a quoted field, as it would the lines), and `readline` splits the rest of the block until it
    is used up. So a file of blank lines costs what decoding it costs; `extra` counts the lines in those
    strings beyond one each, for readers numbering lines.
    """

    __slots__ = ("readline", "_text", "_ahead", "_at", "_carry", "_blanks", "_patience", "extra")

    def __init__(self, text: io.TextIOWrapper) -> None:
        self._text = text
        self.readline: Any = text.readline
        self._ahead = ""  # text read ahead, from _at on
        self._at = 0
        self._carry = ""  # a \r that ended a block, held back until the character after it is read
        self._blanks = 0  # blank lines from the text's readline since the last block read ahead
        self._patience = _BLANKS_BEFORE_RUN  # doubles when reading ahead found a short run (a double-spaced file)
        self.extra = 0

    def blank(self, line: str) -> str:
        """What readline gave, when blank: the line itself, or the run of blank lines it starts."""
        if self._ahead:
            return line
        self._blanks += 1
        if self._blanks < self._patience:
            return line
        self._blanks = 0
        self._fill()
        run = self._blank_run(line)
        if len(run) < _BLANKS_BEFORE_RUN:
            self._patience = min(2 * self._patience, 1 << 20)
        return run

    def _line_ahead(self, size: int = -1) -> str:
        """The next line read ahead (up to `size` characters, as readline(size)), or the next run of blank lines."""
        text, at = self._ahead, self._at
        if text[at] in "\r\n":
            return self._blank_run("")
        line = ""
        while True:
            found = _LINE_END.search(text, at)
            end = found.end() if found else len(text)
            if 0 <= size - len(line) < end - at:
                end, found = at + size - len(line), None
            line += text[at:end]
            self._take(end)
            if found is not None or len(line) == size:
                return line
            if not self._ahead:  # the line goes on past what was read ahead
                return line + self._text.readline(size - len(line) if size >= 0 else -1)
            text, at = self._ahead, self._at

    def _blank_run(self, first: str) -> str:
        """`first` (a blank line, or nothing) and the blank lines read ahead after it, as one string."""
        text, at = self._ahead, self._at
        end = _LINE_ENDS.match(text, at).end()  # type: ignore[union-attr]
        run = first + text[at:end]
        self._take(end)
        if len(run) > 2 or run not in _BLANK_LINES:
            self.extra += _line_ends(run) - 1
        return run

    def _fill(self) -> None:
        while True:
            data = self._text.read(_CHUNK)
            block, self._carry = self._carry + data, ""
            if data and block.endswith("\r"):  # the next block may start with its \n
                block, self._carry = block[:-1], "\r"
            if block or not data:
                self._ahead, self._at = block, 0
                self.readline = self._line_ahead if block else self._text.readline
                return

    def _take(self, end: int) -> None:
        if end < len(self._ahead):
            self._at = end
        elif self._carry:
            self._fill()
        else:
            self._ahead, self._at = "", 0
            self.readline = self._text.readline


def _read_full(stream: Any, size: int) -> bytes:
    parts = []
    remaining = size
    while remaining > 0:
        chunk = stream.read(remaining)
        if not chunk:
            break
        if isinstance(chunk, str):
            raise TypeError("read_sample needs a path or a binary file object, not a text stream")
        parts.append(chunk)
        remaining -= len(chunk)
    return b"".join(parts)


_OTHER_CONTAINERS = (
    (b"PK\x03\x04", "a ZIP archive (an .xlsx workbook or a .zip): export or unpack it to CSV first"),
    (b"\xfd7zXZ\x00", "xz-compressed: only gzip is read; decompress it first"),
    (b"(\xb5/\xfd", "zstd-compressed: only gzip is read; decompress it first"),
    (b"7z\xbc\xaf'\x1c", "a 7-Zip archive: unpack it first"),
    (b"%PDF", "a PDF document, not a sample"),
)


def _check_container(head: bytes) -> None:
    for magic, what in _OTHER_CONTAINERS:
        if head.startswith(magic):
            raise SampleFileError(f"refused: the file is {what}")
    if head[:3] == b"BZh" and head[3:4].isdigit() and head[4:10] == b"1AY&SY":
        raise SampleFileError("refused: the file is bzip2-compressed: only gzip is read; decompress it first")


def _wide_encoding(sample: bytes) -> str | None:
    """UTF-16/UTF-32 without a BOM, recognised by where the NUL bytes fall in mostly-ASCII text."""
    if len(sample) < 4 or sample.count(0) * 4 < len(sample):
        return None
    quarter = len(sample) // 4
    zeros = [sample[i::4].count(0) for i in range(4)]
    if min(zeros[1], zeros[2], zeros[3]) > 0.8 * quarter and zeros[0] < 0.5 * quarter:
        return "UTF-32 LE"
    if min(zeros[0], zeros[1], zeros[2]) > 0.8 * quarter and zeros[3] < 0.5 * quarter:
        return "UTF-32 BE"
    even, odd = zeros[0] + zeros[2], zeros[1] + zeros[3]
    if odd > 0.8 * 2 * quarter and even < 0.5 * odd:
        return "UTF-16 LE"
    if even > 0.8 * 2 * quarter and odd < 0.5 * even:
        return "UTF-16 BE"
    return "binary data (many NUL bytes), not a text file"


def _guess_legacy(data: bytes) -> str:
    """A likely name for a non-UTF-8 byte encoding, for the refusal message."""
    singles = pairs = low_leads = low_trails = 0
    i, n = 0, len(data)
    while i < n:
        if data[i] < 0x80:
            i += 1
        elif i + 1 < n and data[i + 1] >= 0x40:
            pairs += 1
            low_leads += data[i] <= 0xA0
            low_trails += data[i + 1] <= 0x7E
            i += 2
        else:
            singles += 1
            i += 1
    if pairs == 0 and singles == 0:
        return "an unknown encoding"
    # Latin text has lone accented bytes inside ASCII words; CJK double-byte text mostly pairs two high bytes.
    if pairs - low_trails <= low_trails + singles:
        return "Latin-1/Windows-1252"

    def decodes(codec: str) -> bool:
        try:
            data.decode(codec)
        except UnicodeDecodeError as exc:
            return exc.start >= len(data) - 2  # a character cut at the end of the sample
        return True

    if low_leads * 2 > pairs and decodes("shift_jis"):
        return "Shift_JIS (Japanese)"
    if low_trails and decodes("big5"):
        return "Big5 (Traditional Chinese)"
    if decodes("gb18030"):
        return "GB18030/GBK (Simplified Chinese)"
    if decodes("big5"):
        return "Big5 (Traditional Chinese)"
    return "Latin-1/Windows-1252 or another legacy encoding"


def _check_encoding(head: bytes, at_eof: bool) -> None:
    for bom, name in (
        (codecs.BOM_UTF32_LE, "UTF-32 LE"),
        (codecs.BOM_UTF32_BE, "UTF-32 BE"),
        (codecs.BOM_UTF16_LE, "UTF-16 LE"),
        (codecs.BOM_UTF16_BE, "UTF-16 BE"),
    ):
        if head.startswith(bom):
            raise SampleFileError(f"refused: the file is encoded in {name} (byte-order mark); save it as UTF-8")
    wide = _wide_encoding(head[:4096])
    if wide is not None:
        if wide.startswith("UTF"):
            raise SampleFileError(f"refused: the file looks encoded in {wide} (NUL byte pattern); save it as UTF-8")
        raise SampleFileError(f"refused: {wide}")
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=at_eof)
    except UnicodeDecodeError as exc:
        raise SampleFileError(
            f"refused: not UTF-8 (invalid byte 0x{head[exc.start]:02X} at offset {exc.start:,}; looks like "
            f"{_guess_legacy(head)}); save the file as UTF-8"
        ) from None


class _Opened:
    """A sample opened for reading: the text stream, the byte counter behind it and what to close."""

    def __init__(self, source: Source, limits: ReadLimits) -> None:
        self._owned: Any = None
        if isinstance(source, str | os.PathLike):
            raw: Any = open(source, "rb", buffering=0)  # noqa: SIM115 - closed in close()
            self._owned = raw
        elif hasattr(source, "read"):
            raw = source
        else:
            raise TypeError(f"read_sample needs a path or a binary file object, not {type(source).__name__}")
        try:
            first = _read_full(raw, _HEAD_BYTES)
            stream: Any = raw
            head = first
            source = None
            if first[:2] == b"\x1f\x8b":
                source = _Prefixed(first, raw)
                stream = gzip.GzipFile(fileobj=source, mode="rb")
                try:
                    head = _read_full(stream, min(_HEAD_BYTES, limits.max_inflated_bytes + 1))
                except (OSError, EOFError, zlib.error) as exc:
                    raise SampleFileError(f"damaged gzip file: {exc}") from None
                _check_inflation(len(head), source.taken, limits)
            _check_container(head)
            _check_encoding(head, at_eof=len(head) < _HEAD_BYTES)
            skipped = 3 if head.startswith(_BOM) else 0
            self.bytes = _ByteSource(head[skipped:], stream, skipped, source, limits)
            self.text = io.TextIOWrapper(self.bytes, encoding="utf-8", errors="strict", newline="")
            self.text._CHUNK_SIZE = _CHUNK  # type: ignore[attr-defined]
            self.lines = _Lines(self.text)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if self._owned is not None:
            self._owned.close()
            self._owned = None


def _first_line(opened: _Opened, cap: int) -> tuple[str, int]:
    """The first non-blank line and how many physical lines it took to reach it."""
    count = 0
    lines = opened.lines
    while True:
        try:
            line = lines.readline(cap + 1)
            if len(line) <= 2 and line in _BLANK_LINES:
                line = lines.blank(line)
        except UnicodeDecodeError as exc:
            raise opened.bytes.decode_error(exc, count + lines.extra + 1) from None
        if not line:
            raise SampleFileError("the file is empty")
        count += 1
        if line.strip():
            return line, count + lines.extra


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


def _format_from_columns(columns: Iterable[str]) -> str | None:
    cols = set(columns)
    if {"tweetid", "userid", "tweet_time"} <= cols:
        return "twitter-io"
    if {"userid", "user_screen_name"} <= cols:
        return "twitter-io-users"
    if {"object_id", "account_id", "content_id", "timestamp_share"} <= cols:
        return "coortweet"
    if {"account_id", "post_id", "timestamp"} <= cols and cols & {"url_id", "hashtag_id", "domain_id", "phash_id"}:
        return "coortweet-german"
    if {"message_id", "user_id", "timestamp"} <= cols:
        return "cnt"
    if {"post_id", "account_id", "created_at"} <= cols:
        return "canonical-csv"
    if "account_id" in cols and "post_id" not in cols and cols & _ACCOUNT_ONLY_KEYS:
        return "canonical-accounts-csv"
    return None


_ACCOUNT_ONLY_KEYS = frozenset({"handle", "display_name", "followers", "following", "posts", "description"})
_POST_ONLY_KEYS = frozenset({"post_id", "text", "reshare_of", "reply_to", "quote_of", "urls", "hashtags"})


def _detect(line: str) -> str:
    if line.lstrip().startswith("{"):
        return "canonical-jsonl"
    columns, _ = _header(line)
    found = _format_from_columns(columns)
    if found is None:
        shown = ", ".join(columns[:12])
        raise SampleFileError(f"unknown layout: no supported format has the columns {shown}")
    return found


def detect_format(source: Source) -> str:
    """The format name of a sample, from its header (a file object is rewound when it is seekable)."""
    position = None
    if not isinstance(source, str | os.PathLike) and getattr(source, "seekable", lambda: False)():
        position = source.tell()  # type: ignore[union-attr]
    opened = _Opened(source, ReadLimits())
    try:
        return _detect(_first_line(opened, ReadLimits().max_line_chars)[0])
    finally:
        opened.close()
        if position is not None:
            source.seek(position)  # type: ignore[union-attr]


# ---------------------------------------------------------------------------------------------------------
# Reading


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


def _default_platform(platform: str | None) -> str | None:
    """The controlled name of the platform a caller gives for rows that name none."""
    if platform is None:
        return None
    found = platform_name(platform)
    if found is None:
        raise ValueError(f"unknown platform {platform!r}; known: {', '.join(sorted(PLATFORMS))}")
    return found


def _read(source: Source, fmt: str | None, platform: str | None, limits: ReadLimits) -> Iterator[Record]:
    opened = _Opened(source, limits)
    try:
        first, lines_before = _first_line(opened, limits.max_line_chars)
        if fmt is None:
            fmt = _detect(first)
        if fmt == "canonical-jsonl":
            yield from _read_jsonl(opened, first, lines_before, platform, limits)
            return
        rows, index = _csv_source(opened, first, lines_before, fmt, limits)
        yield from _READERS[fmt](rows, index, platform, limits)
    finally:
        opened.close()


def _csv_source(
    opened: _Opened, first: str, lines_before: int, fmt: str, limits: ReadLimits
) -> tuple[Iterator[tuple[int, list[str]] | RowError], dict[str, int]]:
    """The data rows of a CSV layout after its header line, and each column's position."""
    columns, delimiter = _header(first)
    missing = [c for c in _REQUIRED[fmt] if c not in columns]
    if missing:
        raise SampleFileError(f"not a {fmt} file: missing column(s) {', '.join(missing)}")
    index = {name: i for i, name in reversed(list(enumerate(columns)))}
    return _csv_rows(opened, columns, lines_before, delimiter, limits), index


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
    caps = [limits.max_field_chars if c in _LONG_COLUMNS else id_cap for c in columns]
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


def _row_platform(value: str, default: str | None) -> str:
    if not value:
        if default is None:
            raise _Bad("platform", "missing")
        return default
    found = platform_name(value)
    if found is None:
        raise _Bad("platform", f"unknown platform {value!r}")
    return found


def _canonical_items(cell: str) -> list[str]:
    """The items of a non-empty list cell of the canonical layouts: a bracketed list or space-separated."""
    return _split_bracketed(cell) if cell[0] == "[" else cell.split()


_CANONICAL_POST_COLUMNS = (
    "platform",
    "post_id",
    "account_id",
    "created_at",
    "text",
    "reshare_of",
    "reply_to",
    "quote_of",
    "urls",
    "hashtags",
    "mentions",
    "media_hashes",
    "lang",
    "handle",
)


def _read_canonical_csv(
    rows: Iterator[tuple[int, list[str]] | RowError], index: dict[str, int], platform: str | None, limits: ReadLimits
) -> Iterator[Record]:
    if "platform" not in index and platform is None:
        raise SampleFileError("the file has no platform column: pass platform=...")
    pick = itemgetter(*[index.get(name, -1) for name in _CANONICAL_POST_COLUMNS])
    for item in rows:
        if type(item) is RowError:
            yield item
            continue
        line, row = item  # type: ignore[misc]
        row.append("")  # index -1 (absent column) reads as empty
        plat, pid, aid, created, text, reshare, reply, quote, urls, tags, ments, media, lang, handle = pick(row)
        try:
            pid = pid.strip()
            aid = aid.strip()
            if not pid:
                raise _Bad("post_id", "missing")
            if not aid:
                raise _Bad("account_id", "missing")
            yield _build_post(
                limits,
                line,
                _PLATFORM_ALIASES.get(plat) or _row_platform(plat, platform),
                pid,
                aid,
                _time(created, "created_at"),
                text,
                reshare.strip(),
                reply.strip(),
                quote.strip(),
                _canonical_items(urls) if urls else _NONE,
                _canonical_items(tags) if tags else _NONE,
                _canonical_items(ments) if ments else _NONE,
                _canonical_items(media) if media else _NONE,
                lang.strip(),
                handle.strip().lstrip("@"),
            )
        except _Bad as bad:
            yield RowError(line, bad.field, bad.reason, _raw(row[:-1]))


# ---------------------------------------------------------------------------------------------------------
# The canonical posts CSV, a chunk of rows at a time
#
# Bulk imports mostly bring the canonical layout. Read row by row, each row costs a dozen Python calls; a
# chunk's clean rows are almost all alike, so the checks and normalisations run over whole columns instead
# (C-level map, zip and join, and each distinct timestamp, platform or list cell worked out once). A chunk
# with anything unusual (a rejected row, an in-file duplicate, a value that fails a check) is read row by
# row, so every error is reported exactly as `read_sample` reports it.


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
        return _read_canonical_csv(iter(self.items), self.index, self.platform, self.limits)

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
        rows, index = _csv_source(opened, first, lines_before, "canonical-csv", limits)
        if "platform" not in index and default_platform is None:
            raise SampleFileError("the file has no platform column: pass platform=...")
        for _ in islice(rows, skip_rows):
            pass
        while True:
            items = list(islice(rows, chunk_rows))
            yield CanonicalChunk(items, index, default_platform, limits)
            if len(items) < chunk_rows:
                return
    finally:
        opened.close()


def _read_accounts_csv(
    rows: Iterator[tuple[int, list[str]] | RowError], index: dict[str, int], platform: str | None, limits: ReadLimits
) -> Iterator[Record]:
    if "platform" not in index and platform is None:
        raise SampleFileError("the file has no platform column: pass platform=...")
    names = (
        "platform",
        "account_id",
        "handle",
        "display_name",
        "created_at",
        "followers",
        "following",
        "posts",
        "description",
    )
    cols = [index.get(name, -1) for name in names]
    pick = itemgetter(*cols)
    for item in rows:
        if type(item) is RowError:
            yield item
            continue
        line, row = item  # type: ignore[misc]
        row.append("")
        plat, aid, handle, display, created, followers, following, posts, description = pick(row)
        try:
            yield _build_account(
                line,
                _row_platform(plat, platform),
                aid,
                handle,
                display,
                created,
                followers,
                following,
                posts,
                description,
                ("account_id", "created_at", "followers", "following", "posts"),
            )
        except _Bad as bad:
            yield RowError(line, bad.field, bad.reason, _raw(row[:-1]))


def _build_account(
    line: int,
    platform: str,
    account_id: str,
    handle: str,
    display_name: str,
    created: str,
    followers: str,
    following: str,
    posts: str,
    description: str,
    names: tuple[str, str, str, str, str],
) -> AccountRecord:
    account_id = account_id.strip()
    if not account_id:
        raise _Bad(names[0], "missing")
    created = created.strip()
    created_at = _time(created, names[1]) if created else None
    counts = []
    for value, name in ((followers, names[2]), (following, names[3]), (posts, names[4])):
        try:
            counts.append(_parse_count(value))
        except ValueError:
            raise _Bad(name, f"not a count: {value[:40]!r}") from None
    return _new_account(
        platform,
        account_id,
        line,
        handle.strip().lstrip("@"),
        display_name,
        created_at,
        counts[0],
        counts[1],
        counts[2],
        description,
    )


def _read_coortweet(
    rows: Iterator[tuple[int, list[str]] | RowError], index: dict[str, int], platform: str | None, limits: ReadLimits
) -> Iterator[Record]:
    plat = platform or "x"
    i_obj, i_acc, i_post, i_time = (index[c] for c in ("object_id", "account_id", "content_id", "timestamp_share"))
    new_post = _new_post
    # CooRTweet rows are shares: a content_id that shares a second, different object is a second share, kept
    # under "content_id/object_id" so that no share is lost (russian_coord_tweets has 40 such rows). This holds
    # one entry per distinct content_id.
    first_object: dict[str, str] = {}
    for item in rows:
        if type(item) is RowError:
            yield item
            continue
        line, row = item  # type: ignore[misc]
        pid = row[i_post]
        aid = row[i_acc]
        stamp = row[i_time]
        obj = row[i_obj].strip()
        seen = first_object.setdefault(pid, obj)
        if seen != obj:
            pid = f"{pid}/{obj}"
        if not pid or not aid or not stamp.isdigit():
            try:
                if not pid.strip():
                    raise _Bad("content_id", "missing")
                if not aid.strip():
                    raise _Bad("account_id", "missing")
                created = _time(stamp, "timestamp_share")
            except _Bad as bad:
                yield RowError(line, bad.field, bad.reason, _raw(row))
                continue
            pid, aid = pid.strip(), aid.strip()
        else:
            n = int(stamp)
            created = _from_unix(n / 1000 if n >= _EPOCH_MS_THRESHOLD else n)
        yield new_post(plat, pid, aid, created, line, "", obj)


_NO_ID_PREFIX = "noid-"


def _german_platform(account_id: str, post_id: str, default: str | None) -> str:
    prefix = account_id[:3] if account_id[2:3] == "_" else post_id[:3]
    if prefix == "fb_":
        return "facebook"
    if prefix == "tw_":
        return "x"
    if default is None:
        raise _Bad("account_id", "no fb_/tw_ prefix to tell the platform: pass platform=...")
    return default


def _read_german(
    rows: Iterator[tuple[int, list[str]] | RowError], index: dict[str, int], platform: str | None, limits: ReadLimits
) -> Iterator[Record]:
    i_acc, i_post, i_time = index["account_id"], index["post_id"], index["timestamp"]
    i_url, i_tag, i_dom, i_ph = (index.get(c, -1) for c in ("url_id", "hashtag_id", "domain_id", "phash_id"))
    new_post = _new_post
    empty: tuple[str, ...] = ()
    for item in rows:
        if type(item) is RowError:
            yield item
            continue
        line, row = item  # type: ignore[misc]
        row.append("")
        pid = row[i_post].strip()
        aid = row[i_acc].strip()
        stamp = row[i_time]
        try:
            if not aid:
                raise _Bad("account_id", "missing")
            if not pid:
                # The layout has rows with an account and a time but no post id (3 in the real data): keep
                # them under a stable made-up id rather than lose the account's activity.
                pid = f"{_NO_ID_PREFIX}{aid}-{stamp.strip()}"
            plat = _german_platform(aid, pid, platform)
            if stamp.isdigit():
                n = int(stamp)
                created = _from_unix(n / 1000 if n >= _EPOCH_MS_THRESHOLD else n)
            else:
                created = _time(stamp, "timestamp")
        except _Bad as bad:
            yield RowError(line, bad.field, bad.reason, _raw(row[:-1]))
            continue
        url = row[i_url].strip()
        urls = (url,) if url else empty
        tag = row[i_tag].strip()
        domain = row[i_dom].strip()
        phash = row[i_ph].strip()
        yield new_post(
            plat,
            pid,
            aid,
            created,
            line,
            "",
            "",
            "",
            "",
            urls,
            urls,
            (domain,) if domain else empty,
            (tag,) if tag else empty,
            empty,
            (phash,) if phash else empty,
        )


def _read_cnt(
    rows: Iterator[tuple[int, list[str]] | RowError], index: dict[str, int], platform: str | None, limits: ReadLimits
) -> Iterator[Record]:
    plat = platform or "x"
    names = ("message_id", "user_id", "username", "repost_id", "reply_id", "message", "timestamp", "urls")
    cols = [index.get(name, -1) for name in names]
    pick = itemgetter(*cols)
    for item in rows:
        if type(item) is RowError:
            yield item
            continue
        line, row = item  # type: ignore[misc]
        row.append("")
        mid, uid, username, repost, reply, message, stamp, urls = pick(row)
        try:
            mid = mid.strip()
            uid = uid.strip()
            if not mid:
                raise _Bad("message_id", "missing")
            if not uid:
                raise _Bad("user_id", "missing")
            yield _build_post(
                limits,
                line,
                plat,
                mid,
                uid,
                _time(stamp, "timestamp"),
                message,
                repost.strip(),
                reply.strip(),
                "",
                urls.split() if urls else _NONE,
                [],
                [],
                [],
                "",
                username.strip().lstrip("@"),
            )
        except _Bad as bad:
            yield RowError(line, bad.field, bad.reason, _raw(row[:-1]))


_TRUE = frozenset({"true", "1", "yes", "t", "y"})


# Field names reported in the archive's account errors: id, creation date, followers, following, posts.
_ARCHIVE_ACCOUNT_FIELDS = ("userid", "account_creation_date", "follower_count", "following_count", "posts")


def _archive_account(
    line: int, uid: str, screen: str, display: str, created: str, followers: str, following: str, description: str
) -> AccountRecord:
    """An account of the X/Twitter archive (from the tweets file's user columns or the users file)."""
    return _build_account(
        line, "x", uid, screen, display, created, followers, following, "", description, _ARCHIVE_ACCOUNT_FIELDS
    )


def _read_twitter_io(
    rows: Iterator[tuple[int, list[str]] | RowError], index: dict[str, int], platform: str | None, limits: ReadLimits
) -> Iterator[Record]:
    names = (
        "tweetid",
        "userid",
        "tweet_time",
        "tweet_text",
        "in_reply_to_tweetid",
        "quoted_tweet_tweetid",
        "is_retweet",
        "retweet_tweetid",
        "urls",
        "hashtags",
        "user_mentions",
        "tweet_language",
        "user_screen_name",
        "user_display_name",
        "account_creation_date",
        "follower_count",
        "following_count",
        "user_profile_description",
    )
    cols = [index.get(name, -1) for name in names]
    pick = itemgetter(*cols)
    seen: set[str] = set()
    for item in rows:
        if type(item) is RowError:
            yield item
            continue
        line, row = item  # type: ignore[misc]
        row.append("")
        (
            tid,
            uid,
            stamp,
            text,
            reply,
            quote,
            is_rt,
            rt_id,
            urls,
            tags,
            ments,
            lang,
            screen,
            display,
            created,
            followers,
            following,
            description,
        ) = pick(row)
        try:
            tid = tid.strip()
            uid = uid.strip()
            if not tid:
                raise _Bad("tweetid", "missing")
            if not uid:
                raise _Bad("userid", "missing")
            post = _build_post(
                limits,
                line,
                "x",
                tid,
                uid,
                _time(stamp, "tweet_time"),
                text,
                rt_id.strip() if is_rt.strip().lower() in _TRUE or rt_id.strip() else "",
                reply.strip(),
                quote.strip(),
                _split_bracketed(urls),
                _split_bracketed(tags),
                _split_bracketed(ments),
                [],
                lang.strip(),
                screen.strip().lstrip("@"),
            )
            account = None
            if uid not in seen:
                account = _archive_account(line, uid, screen, display, created, followers, following, description)
        except _Bad as bad:
            yield RowError(line, bad.field, bad.reason, _raw(row[:-1]))
            continue
        if account is not None:
            seen.add(uid)
            yield account
        yield post


def _read_twitter_io_users(
    rows: Iterator[tuple[int, list[str]] | RowError], index: dict[str, int], platform: str | None, limits: ReadLimits
) -> Iterator[Record]:
    names = (
        "userid",
        "user_screen_name",
        "user_display_name",
        "account_creation_date",
        "follower_count",
        "following_count",
        "user_profile_description",
    )
    cols = [index.get(name, -1) for name in names]
    pick = itemgetter(*cols)
    for item in rows:
        if type(item) is RowError:
            yield item
            continue
        line, row = item  # type: ignore[misc]
        row.append("")
        uid, screen, display, created, followers, following, description = pick(row)
        try:
            yield _archive_account(line, uid, screen, display, created, followers, following, description)
        except _Bad as bad:
            yield RowError(line, bad.field, bad.reason, _raw(row[:-1]))


_READERS = {
    "canonical-csv": _read_canonical_csv,
    "canonical-accounts-csv": _read_accounts_csv,
    "twitter-io": _read_twitter_io,
    "twitter-io-users": _read_twitter_io_users,
    "coortweet": _read_coortweet,
    "coortweet-german": _read_german,
    "cnt": _read_cnt,
}


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


def _json_id(obj: dict[str, Any], key: str, cap: int, required: bool = False) -> str:
    value = obj.get(key)
    if value is None or value == "":
        if required:
            raise _Bad(key, "missing")
        return ""
    if type(value) is int:
        return str(value)
    if type(value) is not str:
        raise _Bad(key, f"wrong type: {type(value).__name__}, expected a string")
    value = clean_text(value).strip()
    if len(value) > cap:
        raise _Bad(key, f"{len(value):,} characters, over the cap of {cap:,}")
    if required and not value:
        raise _Bad(key, "missing")
    return value


def _json_text(obj: dict[str, Any], key: str, cap: int) -> str:
    value = obj.get(key)
    if value is None:
        return ""
    if type(value) is not str:
        raise _Bad(key, f"wrong type: {type(value).__name__}, expected a string")
    if len(value) > cap:
        raise _Bad(key, f"{len(value):,} characters, over the cap of {cap:,}")
    return clean_text(value)


def _json_list(obj: dict[str, Any], key: str) -> list[str]:
    value = obj.get(key)
    if not value:
        return _NONE
    if type(value) is str:
        return clean_text(value).split()
    if type(value) is not list or not all(type(v) is str for v in value):
        raise _Bad(key, f"wrong type: {type(value).__name__}, expected a list of strings")
    return [clean_text(v) for v in value]


def _json_time(obj: dict[str, Any], key: str, required: bool) -> datetime | None:
    value = obj.get(key)
    if value is None or value == "":
        if required:
            raise _Bad(key, "missing")
        return None
    if type(value) is str:
        return _time(clean_text(value), key)
    try:
        return parse_timestamp(value)
    except (ValueError, TypeError) as exc:
        raise _Bad(key, f"not a timestamp ({exc})") from None


def _json_count(obj: dict[str, Any], key: str) -> int | None:
    value = obj.get(key)
    if value is None or value == "":
        return None
    if type(value) is int and value >= 0:
        return value
    if type(value) is str:
        try:
            return _parse_count(value)
        except ValueError:
            pass
    raise _Bad(key, f"not a count: {str(value)[:40]!r}")


def _is_account_object(obj: dict[str, Any]) -> bool:
    return "post_id" not in obj and not (obj.keys() & _POST_ONLY_KEYS) and bool(obj.keys() & _ACCOUNT_ONLY_KEYS)


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


def _read_jsonl(
    opened: _Opened, first: str, lines_before: int, platform: str | None, limits: ReadLimits
) -> Iterator[Record]:
    cap = limits.max_line_chars
    id_cap = limits.max_id_chars
    long_cap = limits.max_field_chars
    loads = json.loads
    depth_cap = limits.max_json_depth
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
        else:
            try:
                plat_value = obj.get("platform")
                if plat_value is not None and type(plat_value) is not str:
                    raise _Bad("platform", "wrong type, expected a string")
                plat = _row_platform(clean_text(plat_value or ""), platform)
                if "post_id" not in obj and _is_account_object(obj):
                    yield _new_account(
                        plat,
                        _json_id(obj, "account_id", id_cap, required=True),
                        line_no,
                        _json_id(obj, "handle", id_cap).lstrip("@"),
                        _json_text(obj, "display_name", long_cap),
                        _json_time(obj, "created_at", required=False),
                        _json_count(obj, "followers"),
                        _json_count(obj, "following"),
                        _json_count(obj, "posts"),
                        _json_text(obj, "description", long_cap),
                    )
                    continue
                yield _build_post(
                    limits,
                    line_no,
                    plat,
                    _json_id(obj, "post_id", id_cap, required=True),
                    _json_id(obj, "account_id", id_cap, required=True),
                    _json_time(obj, "created_at", required=True),  # type: ignore[arg-type]
                    _json_text(obj, "text", long_cap),
                    _json_id(obj, "reshare_of", id_cap),
                    _json_id(obj, "reply_to", id_cap),
                    _json_id(obj, "quote_of", id_cap),
                    _json_list(obj, "urls"),
                    _json_list(obj, "hashtags"),
                    _json_list(obj, "mentions"),
                    _json_list(obj, "media_hashes"),
                    _json_id(obj, "lang", id_cap),
                    _json_id(obj, "handle", id_cap).lstrip("@"),
                )
            except _Bad as bad:
                yield RowError(line_no, bad.field, bad.reason, clean_text(stripped[:300]))


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
