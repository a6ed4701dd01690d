"""Every layout the readers know, in the order they are listed and the order a header is matched against them."""

from __future__ import annotations

from detection.engine.readers.canonical import CANONICAL_CSV
from detection.engine.readers.canonical_accounts import CANONICAL_ACCOUNTS_CSV
from detection.engine.readers.canonical_jsonl import CANONICAL_JSONL
from detection.engine.readers.cnt import CNT
from detection.engine.readers.columns import CsvLayout, JsonLayout
from detection.engine.readers.coortweet import COORTWEET, COORTWEET_GERMAN
from detection.engine.readers.twitter_io import TWITTER_IO, TWITTER_IO_USERS

LAYOUTS: dict[str, CsvLayout | JsonLayout] = {
    layout.name: layout
    for layout in (
        CANONICAL_CSV,
        CANONICAL_JSONL,
        CANONICAL_ACCOUNTS_CSV,
        TWITTER_IO,
        TWITTER_IO_USERS,
        COORTWEET,
        COORTWEET_GERMAN,
        CNT,
    )
}
FORMATS: dict[str, str] = {name: layout.description for name, layout in LAYOUTS.items()}

# The most particular first: a header is read as the first layout that recognises it.
CSV_LAYOUTS_BY_PRECEDENCE: tuple[CsvLayout, ...] = (
    TWITTER_IO,
    TWITTER_IO_USERS,
    COORTWEET,
    COORTWEET_GERMAN,
    CNT,
    CANONICAL_CSV,
    CANONICAL_ACCOUNTS_CSV,
)

# A column that may hold prose in any layout is capped as prose in every layout (an extra column is treated alike
# whatever the file's layout).
PROSE_COLUMNS: frozenset[str] = frozenset().union(
    *(layout.prose_columns for layout in LAYOUTS.values() if isinstance(layout, CsvLayout))
)
