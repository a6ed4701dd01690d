"""The project's JSON Lines: one object a line, a post (with post_id) or an account; lists as JSON arrays."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from detection.engine.normalise import clean_text
from detection.engine.readers.canonical_accounts import ACCOUNT_ONLY_COLUMNS
from detection.engine.readers.columns import Field, JsonLayout, Parser
from detection.engine.readers.values import _NONE, _Bad, _parse_count, _row_platform, _time, parse_timestamp

_POST_ONLY_KEYS = frozenset({"post_id", "text", "reshare_of", "reply_to", "quote_of", "urls", "hashtags"})


def _is_account_object(obj: dict[str, Any]) -> bool:
    return "post_id" not in obj and not (obj.keys() & _POST_ONLY_KEYS) and bool(obj.keys() & ACCOUNT_ONLY_COLUMNS)


def _json_platform(value: Any, default: str | None) -> str:
    if value is not None and type(value) is not str:
        raise _Bad("platform", "wrong type, expected a string")
    return _row_platform(clean_text(value or ""), default)


def _json_id(value: Any, key: str, cap: int, required: bool = False) -> str:
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


def _json_text(value: Any, key: str, cap: int) -> str:
    if value is None:
        return ""
    if type(value) is not str:
        raise _Bad(key, f"wrong type: {type(value).__name__}, expected a string")
    if len(value) > cap:
        raise _Bad(key, f"{len(value):,} characters, over the cap of {cap:,}")
    return clean_text(value)


def _json_list(value: Any, key: str) -> list[str]:
    if not value:
        return _NONE
    if type(value) is str:
        return clean_text(value).split()
    if type(value) is not list or not all(type(v) is str for v in value):
        raise _Bad(key, f"wrong type: {type(value).__name__}, expected a list of strings")
    return [clean_text(v) for v in value]


def _json_time(value: Any, key: str, required: bool) -> datetime | None:
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


def _json_count(value: Any, key: str) -> int | None:
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


JSON_PLATFORM = Parser("_json_platform({0}, default_platform)", {"_json_platform": _json_platform})
JSON_ID = Parser("_json_id({0}, {field}, id_cap)", {"_json_id": _json_id})
JSON_REQUIRED_ID = Parser("_json_id({0}, {field}, id_cap, True)", {"_json_id": _json_id})
JSON_HANDLE = Parser('_json_id({0}, {field}, id_cap).lstrip("@")', {"_json_id": _json_id})
JSON_TEXT = Parser("_json_text({0}, {field}, long_cap)", {"_json_text": _json_text})
JSON_LIST = Parser("_json_list({0}, {field})", {"_json_list": _json_list})
JSON_TIME = Parser("_json_time({0}, {field}, False)", {"_json_time": _json_time})
JSON_REQUIRED_TIME = Parser("_json_time({0}, {field}, True)", {"_json_time": _json_time})
JSON_COUNT = Parser("_json_count({0}, {field})", {"_json_count": _json_count})

CANONICAL_JSONL = JsonLayout(
    name="canonical-jsonl",
    description="the project's JSON Lines: one object per line, a post (with post_id) or an account "
    "(account_id and account columns, no post_id); lists as JSON arrays",
    is_account=_is_account_object,
    posts=(
        Field("platform", "platform", JSON_PLATFORM),
        Field("post_id", "post_id", JSON_REQUIRED_ID),
        Field("account_id", "account_id", JSON_REQUIRED_ID),
        Field("created_at", "created_at", JSON_REQUIRED_TIME),
        Field("text", "text", JSON_TEXT),
        Field("reshare_of", "reshare_of", JSON_ID),
        Field("reply_to", "reply_to", JSON_ID),
        Field("quote_of", "quote_of", JSON_ID),
        Field("urls", "urls", JSON_LIST),
        Field("hashtags", "hashtags", JSON_LIST),
        Field("mentions", "mentions", JSON_LIST),
        Field("media_hashes", "media_hashes", JSON_LIST),
        Field("lang", "lang", JSON_ID),
        Field("handle", "handle", JSON_HANDLE),
    ),
    accounts=(
        Field("platform", "platform", JSON_PLATFORM),
        Field("account_id", "account_id", JSON_REQUIRED_ID),
        Field("handle", "handle", JSON_HANDLE),
        Field("display_name", "display_name", JSON_TEXT),
        Field("created_at", "created_at", JSON_TIME),
        Field("followers", "followers", JSON_COUNT),
        Field("following", "following", JSON_COUNT),
        Field("posts", "posts", JSON_COUNT),
        Field("description", "description", JSON_TEXT),
    ),
)
