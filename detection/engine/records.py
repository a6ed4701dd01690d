"""Plain records shared by the sample readers, the engine and the database import.

A reader turns a file in any supported layout into a stream of these records; the engine builds its
arrays from them and the import writes them to the database. Nothing here imports Django.
"""

from __future__ import annotations

from dataclasses import dataclass, field
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
