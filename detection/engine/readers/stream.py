"""Bytes to lines of text: a sample opened, inflated under the caps, checked for its encoding, decoded as it is read.

Pure standard library. A file is read once, front to back, in bounded memory: gzip is inflated on the fly (and
refused when it inflates past the caps), other containers and encodings are refused with what they look like, and
runs of blank lines are read a block at a time. Problems with the whole file raise SampleFileError.
"""

from __future__ import annotations

import codecs
import gzip
import io
import os
import re
import zlib
from typing import IO, Any

from detection.engine.readers.limits import ReadLimits
from detection.engine.records import SampleFileError

Source = str | os.PathLike[str] | IO[bytes]

_HEAD_BYTES = 64 * 1024
_CHUNK = 64 * 1024
_BOM = codecs.BOM_UTF8


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
