"""X/Twitter information-operations archives: the tweets CSV (with its authors' accounts) and the users CSV."""

from __future__ import annotations

from detection.engine.readers.columns import (
    ACCOUNT,
    AS_GIVEN,
    BRACKETED_LIST,
    COUNT,
    HANDLE,
    NORMALISED_POST,
    OPTIONAL_TIMESTAMP,
    PLATFORM_X,
    REQUIRED_ID,
    STRIPPED,
    TIMESTAMP,
    CsvLayout,
    Field,
    Parser,
    Signature,
)

_TRUE = frozenset({"true", "1", "yes", "t", "y"})

# The retweeted tweet, when the row is flagged a retweet or names one.
RETWEET_OF = Parser('{1}.strip() if {0}.strip().lower() in _TRUE or {1}.strip() else ""', {"_TRUE": _TRUE})

ARCHIVE_ACCOUNT = (
    Field("platform", (), PLATFORM_X),
    Field("account_id", "userid", REQUIRED_ID),
    Field("handle", "user_screen_name", HANDLE),
    Field("display_name", "user_display_name", AS_GIVEN),
    Field("created_at", "account_creation_date", OPTIONAL_TIMESTAMP),
    Field("followers", "follower_count", COUNT),
    Field("following", "following_count", COUNT),
    Field("description", "user_profile_description", AS_GIVEN),
)
_USER_PROSE = frozenset({"user_display_name", "user_reported_location", "user_profile_description", "user_profile_url"})

TWITTER_IO = CsvLayout(
    name="twitter-io",
    description="X/Twitter information-operations archive tweet CSV (tweetid, userid, ... 31 columns); "
    "posts plus one account per distinct user",
    required=("tweetid", "userid", "tweet_time"),
    prose_columns=_USER_PROSE
    | {"tweet_text", "tweet_client_name", "urls", "hashtags", "user_mentions", "poll_choices"},
    record=NORMALISED_POST,
    fields=(
        Field("platform", (), PLATFORM_X),
        Field("post_id", "tweetid", REQUIRED_ID),
        Field("account_id", "userid", REQUIRED_ID),
        Field("created_at", "tweet_time", TIMESTAMP),
        Field("text", "tweet_text", AS_GIVEN),
        Field("reshare_of", ("is_retweet", "retweet_tweetid"), RETWEET_OF),
        Field("reply_to", "in_reply_to_tweetid", STRIPPED),
        Field("quote_of", "quoted_tweet_tweetid", STRIPPED),
        Field("urls", "urls", BRACKETED_LIST),
        Field("hashtags", "hashtags", BRACKETED_LIST),
        Field("mentions", "user_mentions", BRACKETED_LIST),
        Field("lang", "tweet_language", STRIPPED),
        Field("handle", "user_screen_name", HANDLE),
    ),
    authors=ARCHIVE_ACCOUNT,
)

TWITTER_IO_USERS = CsvLayout(
    name="twitter-io-users",
    description="X/Twitter information-operations archive users CSV (userid, user_screen_name, ...)",
    required=("userid",),
    recognised_by=Signature(all_of=frozenset({"userid", "user_screen_name"})),
    prose_columns=_USER_PROSE,
    record=ACCOUNT,
    fields=ARCHIVE_ACCOUNT,
)
