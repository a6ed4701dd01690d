"""Streaming readers for every sample layout researchers bring, turning files into records or row errors.

Pure standard library. Each layout is a module holding its column map (`formats` lists them); `stream` opens,
inflates and decodes a file; `loop` reads its rows into records and row errors with their line numbers;
`canonical_chunks` reads the canonical posts CSV a chunk at a time for bulk imports.
"""

from detection.engine.readers.canonical_chunks import CanonicalChunk, PostColumns, read_canonical_chunks
from detection.engine.readers.formats import FORMATS
from detection.engine.readers.limits import ReadLimits
from detection.engine.readers.loop import (
    Record,
    detect_format,
    layout_columns,
    merge_post_records,
    read_sample,
    unknown_columns,
)
from detection.engine.readers.stream import Source
from detection.engine.readers.values import parse_timestamp, platform_name

__all__ = [
    "FORMATS",
    "CanonicalChunk",
    "PostColumns",
    "ReadLimits",
    "Record",
    "Source",
    "detect_format",
    "layout_columns",
    "merge_post_records",
    "parse_timestamp",
    "platform_name",
    "read_canonical_chunks",
    "read_sample",
    "unknown_columns",
]
