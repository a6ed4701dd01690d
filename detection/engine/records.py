"""Plain records shared by the sample readers, the engine and the database import.

A reader turns a file in any supported layout into a stream of these records; the engine builds its
arrays from them and the import writes them to the database. Nothing here imports Django.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime


@dataclass(frozen=True, slots=True)
class PostRecord:
    """One post (or share, reply, quote) as read from a sample file, already normalised."""

    platform: str
    post_id: str
    account_id: str
    created_at: datetime  # timezone-aware, UTC
    line: int = 0  # physical line of the file where the record starts (1-based), for error reports
    text: str = ""
    reshare_of: str = ""  # id of the post this one reshares (retweet, share), "" when none
    reply_to: str = ""
    quote_of: str = ""
    urls: tuple[str, ...] = ()  # as given
    normalised_urls: tuple[str, ...] = ()  # same order as urls; see normalise.normalise_url
    domains: tuple[str, ...] = ()  # registrable host without "www.", one per distinct domain
    hashtags: tuple[str, ...] = ()  # NFC, case-folded, without "#"
    mentions: tuple[str, ...] = ()  # account ids or handles, case-folded
    media_hashes: tuple[str, ...] = ()
    lang: str = ""
    handle: str = ""  # the author's handle when the layout carries it on post rows


@dataclass(frozen=True, slots=True)
class AccountRecord:
    """One account as read from a sample file (an accounts file, or columns of a post layout)."""

    platform: str
    account_id: str
    line: int = 0
    handle: str = ""
    display_name: str = ""
    created_at: datetime | None = None
    followers: int | None = None
    following: int | None = None
    posts: int | None = None
    description: str = ""


@dataclass(frozen=True, slots=True)
class RowError:
    """A rejected row: where it is, which field is wrong, and why. The row is not stored."""

    line: int
    field: str
    reason: str
    raw: str = field(default="", repr=False)  # the row as read, truncated to a few hundred characters


class SampleFileError(ValueError):
    """The whole file is refused (wrong encoding, unknown layout, archive that inflates past the cap)."""


# The fields a later sighting of a post can add to: scalars when empty, lists with the items they lack.
POST_MERGED_SCALARS = ("text", "reshare_of", "reply_to", "quote_of", "lang", "handle")
POST_MERGED_LISTS = ("urls", "normalised_urls", "domains", "hashtags", "mentions", "media_hashes")


def merge_post(kept: PostRecord, seen: PostRecord) -> PostRecord:
    """The one record of a post seen twice (same platform and post id): `kept`, the sighting taken first, with
    what `seen`, a later one, adds to it.

    The rule, the only one for a post seen twice wherever it is met (in one file, across batches, across
    imports): who posted it, when, and where it was read (account_id, created_at, line) stay kept's; each
    scalar field (POST_MERGED_SCALARS) empty in kept takes seen's value, so the first non-empty value wins; each
    list (POST_MERGED_LISTS) keeps kept's items as they are and gains at its end the items of seen's it lacks,
    once each, in seen's order. Lists merge one by one: `normalised_urls` then need not pair item by item with
    `urls`. Merging a sighting again changes nothing, so a replayed batch or a re-imported file is a no-op.
    The PostgreSQL import applies the same rule in SQL (its writer, and the function detection_jsonb_union).
    """
    changes: dict[str, str | tuple[str, ...]] = {}
    for name in POST_MERGED_SCALARS:
        if not getattr(kept, name) and (value := getattr(seen, name)):
            changes[name] = value
    for name in POST_MERGED_LISTS:
        items = getattr(kept, name)
        known = set(items)
        extra = tuple(dict.fromkeys(item for item in getattr(seen, name) if item not in known))
        if extra:
            changes[name] = items + extra
    return replace(kept, **changes) if changes else kept
