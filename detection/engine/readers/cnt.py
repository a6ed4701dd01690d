"""coordination-network-toolkit CSV: one message a row, with the post it reposts or replies to and its URLs."""

from __future__ import annotations

from detection.engine.readers.columns import (
    AS_GIVEN,
    HANDLE,
    NORMALISED_POST,
    PLATFORM_DEFAULT_X,
    REQUIRED_ID,
    SPACE_SEPARATED_LIST,
    STRIPPED,
    TIMESTAMP,
    CsvLayout,
    Field,
)

CNT = CsvLayout(
    name="cnt",
    description="coordination-network-toolkit CSV: message_id, user_id, username, repost_id, reply_id, message, "
    "timestamp, urls (space-separated; empty means no URL)",
    required=("message_id", "user_id", "timestamp"),
    prose_columns=frozenset({"message", "urls"}),
    record=NORMALISED_POST,
    fields=(
        Field("platform", (), PLATFORM_DEFAULT_X),
        Field("post_id", "message_id", REQUIRED_ID),
        Field("account_id", "user_id", REQUIRED_ID),
        Field("created_at", "timestamp", TIMESTAMP),
        Field("text", "message", AS_GIVEN),
        Field("reshare_of", "repost_id", STRIPPED),
        Field("reply_to", "reply_id", STRIPPED),
        Field("urls", "urls", SPACE_SEPARATED_LIST),
        Field("handle", "username", HANDLE),
    ),
)
