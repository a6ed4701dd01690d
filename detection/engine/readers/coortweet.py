"""CooRTweet CSV: one share a row; and its German-elections layout, one row per (post, object it carries)."""

from __future__ import annotations

from datetime import datetime

from detection.engine.readers.columns import (
    PLATFORM_DEFAULT_X,
    POST,
    REQUIRED_ID,
    STRIPPED,
    CsvLayout,
    Field,
    Parser,
    Signature,
)
from detection.engine.readers.values import _Bad, _time, _unix_time


def _share(
    content_id: str, account_id: str, stamp: str, object_id: str, first_object: dict[str, str]
) -> tuple[str, str, datetime]:
    """A share's post id, account id and time; ids are kept as written when the time is unix seconds.

    A content_id that shares a second, different object is a second share, kept under "content_id/object_id"
    so that no share is lost (russian_coord_tweets has 40 such rows): `first_object` holds one entry per
    distinct content_id.
    """
    post_id = content_id
    if first_object.setdefault(content_id, object_id) != object_id:
        post_id = f"{content_id}/{object_id}"
    if post_id and account_id and stamp.isdigit():
        return post_id, account_id, _unix_time(stamp, "timestamp_share")
    if not post_id.strip():
        raise _Bad("content_id", "missing")
    if not account_id.strip():
        raise _Bad("account_id", "missing")
    return post_id.strip(), account_id.strip(), _time(stamp, "timestamp_share")


COORTWEET = CsvLayout(
    name="coortweet",
    description="CooRTweet CSV: object_id (reshared post), account_id, content_id (post), timestamp_share (unix s)",
    required=("object_id", "account_id", "content_id", "timestamp_share"),
    record=POST,
    fields=(
        Field("platform", (), PLATFORM_DEFAULT_X),
        Field("reshare_of", "object_id", STRIPPED),
        Field(
            ("post_id", "account_id", "created_at"),
            ("content_id", "account_id", "timestamp_share"),
            Parser("_share({0}, {1}, {2}, reshare_of, first_object)", {"_share": _share}, state={"first_object": dict}),
        ),
    ),
)


_NO_ID_PREFIX = "noid-"


def _made_up_post_id(account_id: str, stamp: str) -> str:
    """The layout has rows with an account and a time but no post id (3 in the real data): they are kept under a
    stable made-up id rather than lose the account's activity."""
    return f"{_NO_ID_PREFIX}{account_id}-{stamp.strip()}"


def _platform_of_ids(account_id: str, post_id: str, default: str | None) -> str:
    """The platform the fb_/tw_ prefix of the account id (or else of the post id) names."""
    prefix = account_id[:3] if account_id[2:3] == "_" else post_id[:3]
    if prefix == "fb_":
        return "facebook"
    if prefix == "tw_":
        return "x"
    if default is None:
        raise _Bad("account_id", "no fb_/tw_ prefix to tell the platform: pass platform=...")
    return default


# Unix seconds (or milliseconds) read directly, any other form by parse_timestamp.
UNIX_TIME = Parser(
    "_unix_time({0}, {field}) if {0}.isdigit() else _time({0}, {field})", {"_unix_time": _unix_time, "_time": _time}
)
# An object id as a one-item tuple, or none.
ONE_ITEM = Parser("(v,) if (v := {0}.strip()) else ()")

COORTWEET_GERMAN = CsvLayout(
    name="coortweet-german",
    description="CooRTweet German-elections CSV: account_id, post_id, url_id, hashtag_id, domain_id, "
    "phash_id, timestamp; one row per (post, object); fb_/tw_ id prefixes give the platform",
    required=("account_id", "post_id", "timestamp"),
    recognised_by=Signature(
        all_of=frozenset({"account_id", "post_id", "timestamp"}),
        any_of=frozenset({"url_id", "hashtag_id", "domain_id", "phash_id"}),
    ),
    record=POST,
    fields=(
        Field("account_id", "account_id", REQUIRED_ID),
        Field(
            "post_id",
            ("post_id", "timestamp"),
            Parser("{0}.strip() or _made_up_post_id(account_id, {1})", {"_made_up_post_id": _made_up_post_id}),
        ),
        Field(
            "platform",
            (),
            Parser("_platform_of_ids(account_id, post_id, default_platform)", {"_platform_of_ids": _platform_of_ids}),
        ),
        Field("created_at", "timestamp", UNIX_TIME),
        Field("urls", "url_id", ONE_ITEM),
        Field("normalised_urls", (), Parser("urls")),  # url_id is an id: nothing to normalise
        Field("domains", "domain_id", ONE_ITEM),
        Field("hashtags", "hashtag_id", ONE_ITEM),
        Field("media_hashes", "phash_id", ONE_ITEM),
    ),
)
