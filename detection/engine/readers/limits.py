"""ReadLimits: the caps one read works under."""

from __future__ import annotations

from dataclasses import dataclass


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
