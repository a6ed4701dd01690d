"""The project's accounts CSV: one account a row, with its handle, creation date and counts."""

from __future__ import annotations

from detection.engine.readers.columns import (
    ACCOUNT,
    AS_GIVEN,
    COUNT,
    HANDLE,
    OPTIONAL_TIMESTAMP,
    PLATFORM,
    REQUIRED_ID,
    CsvLayout,
    Field,
    Signature,
)

# Columns only an account has: a header or a JSON object with one of them (and no post_id) is an account's.
ACCOUNT_ONLY_COLUMNS = frozenset({"handle", "display_name", "followers", "following", "posts", "description"})

CANONICAL_ACCOUNTS_CSV = CsvLayout(
    name="canonical-accounts-csv",
    description="the project's accounts CSV: platform, account_id, handle, display_name, "
    "created_at, followers, following, posts, description",
    required=("account_id",),
    recognised_by=Signature(
        all_of=frozenset({"account_id"}), any_of=ACCOUNT_ONLY_COLUMNS, none_of=frozenset({"post_id"})
    ),
    needs_platform=True,
    prose_columns=frozenset({"display_name", "description"}),
    record=ACCOUNT,
    fields=(
        Field("platform", "platform", PLATFORM),
        Field("account_id", "account_id", REQUIRED_ID),
        Field("handle", "handle", HANDLE),
        Field("display_name", "display_name", AS_GIVEN),
        Field("created_at", "created_at", OPTIONAL_TIMESTAMP),
        Field("followers", "followers", COUNT),
        Field("following", "following", COUNT),
        Field("posts", "posts", COUNT),
        Field("description", "description", AS_GIVEN),
    ),
)
