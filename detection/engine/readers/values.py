"""Values: the functions that turn cells into field values, and the constructors that turn values into records.

Pure standard library. A parser raises _Bad for an invalid value; the reading loop turns it into a RowError.
"""

from __future__ import annotations

import json
from dataclasses import MISSING, fields
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from detection.engine.normalise import clean_text, normalise_hashtag, normalise_mention, normalise_url, url_domain
from detection.engine.readers.limits import ReadLimits
from detection.engine.records import AccountRecord, PostRecord
from detection.engine.vocabularies import PLATFORMS

_PLATFORM_ALIASES = {p: p for p in PLATFORMS} | {"twitter": "x", "e-mail": "email", "website": "web"}

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
# Cells to values


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


def _unix_time(digits: str, field: str) -> datetime:
    """A cell of digits as unix seconds or milliseconds (the readers' fast path); _Bad past the year 9999."""
    n = int(digits)
    try:
        return _from_unix(n / 1000 if n >= _EPOCH_MS_THRESHOLD else n)
    except ValueError as exc:
        raise _Bad(field, f"not a timestamp ({exc})") from None


def _optional_time(value: str, field: str) -> datetime | None:
    value = value.strip()
    return _time(value, field) if value else None


def _count(value: str, field: str) -> int | None:
    try:
        return _parse_count(value)
    except ValueError:
        raise _Bad(field, f"not a count: {value[:40]!r}") from None


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


def _default_platform(platform: str | None) -> str | None:
    """The controlled name of the platform a caller gives for rows that name none."""
    if platform is None:
        return None
    found = platform_name(platform)
    if found is None:
        raise ValueError(f"unknown platform {platform!r}; known: {', '.join(sorted(PLATFORMS))}")
    return found


# ---------------------------------------------------------------------------------------------------------
# Values to records


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
    text: str = "",
    reshare_of: str = "",
    reply_to: str = "",
    quote_of: str = "",
    urls: list[str] = _NONE,
    hashtags: list[str] = _NONE,
    mentions: list[str] = _NONE,
    media_hashes: list[str] = _NONE,
    lang: str = "",
    handle: str = "",
) -> PostRecord:
    """A post from its parts, its URLs, hashtags, mentions and media hashes checked against the caps and normalised."""
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
