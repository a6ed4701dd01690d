"""The project's canonical posts CSV: one post a row, its lists space-separated or as a JSON array."""

from __future__ import annotations

from detection.engine.readers.columns import (
    AS_GIVEN,
    HANDLE,
    NORMALISED_POST,
    PLATFORM,
    REQUIRED_ID,
    STRIPPED,
    TIMESTAMP,
    CsvLayout,
    Field,
    Parser,
)
from detection.engine.readers.values import _NONE, _canonical_items

CANONICAL_LIST = Parser(
    "_canonical_items({0}) if {0} else _NONE", {"_canonical_items": _canonical_items, "_NONE": _NONE}
)

CANONICAL_CSV = CsvLayout(
    name="canonical-csv",
    description="the project's posts CSV: platform, post_id, account_id, created_at, text, reshare_of, "
    "reply_to, urls, hashtags, mentions, media_hashes, lang (+ quote_of, handle); lists space-separated "
    "or as a JSON array",
    required=("post_id", "account_id", "created_at"),
    needs_platform=True,
    prose_columns=frozenset({"text", "urls", "hashtags", "mentions", "media_hashes"}),
    record=NORMALISED_POST,
    fields=(
        Field("post_id", "post_id", REQUIRED_ID),
        Field("account_id", "account_id", REQUIRED_ID),
        Field("platform", "platform", PLATFORM),
        Field("created_at", "created_at", TIMESTAMP),
        Field("text", "text", AS_GIVEN),
        Field("reshare_of", "reshare_of", STRIPPED),
        Field("reply_to", "reply_to", STRIPPED),
        Field("quote_of", "quote_of", STRIPPED),
        Field("urls", "urls", CANONICAL_LIST),
        Field("hashtags", "hashtags", CANONICAL_LIST),
        Field("mentions", "mentions", CANONICAL_LIST),
        Field("media_hashes", "media_hashes", CANONICAL_LIST),
        Field("lang", "lang", STRIPPED),
        Field("handle", "handle", HANDLE),
    ),
)
