"""The PostgreSQL path of the sample import: COPY a batch into staging tables, then upsert in SQL.

It applies the same merge rule as the portable path in services (the first non-empty scalar wins, lists gain
the items they lack, in order), so a replayed batch changes nothing. In-batch duplicates are merged in Python
before the COPY, so every staging key is unique.
"""

from __future__ import annotations

from django.db import connection

Key = tuple[str, str]

_SCALARS = ("text", "text_normalised", "reshare_of", "reply_to", "quote_of", "lang")
_LISTS = ("urls", "normalised_urls", "domains", "hashtags", "mentions", "media_hashes")
_ACCOUNT_TEXT = ("handle", "display_name", "description")
_ACCOUNT_NULLABLE = ("created_at", "followers", "following", "post_count")

_STAGING = f"""
CREATE TEMP TABLE import_accounts (
    platform text, account_id text, handle text, display_name text, description text,
    created_at timestamptz, followers bigint, following bigint, post_count bigint
) ON COMMIT DROP;
CREATE TEMP TABLE import_posts (
    platform text, post_id text, account_platform text, account_id text, created_at timestamptz,
    {", ".join(f"{name} text" for name in _SCALARS)}, {", ".join(f"{name} text[]" for name in _LISTS)}
) ON COMMIT DROP;
"""

_ACCOUNTS_UPSERT = f"""
WITH upserted AS (
    INSERT INTO detection_socialaccount AS t (platform, account_id, {", ".join(_ACCOUNT_TEXT + _ACCOUNT_NULLABLE)})
    SELECT platform, account_id, {", ".join(f"coalesce({c}, '')" for c in _ACCOUNT_TEXT)},
           {", ".join(_ACCOUNT_NULLABLE)}
    FROM import_accounts
    ON CONFLICT (platform, account_id) DO UPDATE SET
        {", ".join(f"{c} = CASE WHEN t.{c} = '' THEN EXCLUDED.{c} ELSE t.{c} END" for c in _ACCOUNT_TEXT)},
        {", ".join(f"{c} = coalesce(t.{c}, EXCLUDED.{c})" for c in _ACCOUNT_NULLABLE)}
    WHERE {
    " OR ".join(
        [f"(t.{c} = '' AND EXCLUDED.{c} <> '')" for c in _ACCOUNT_TEXT]
        + [f"(t.{c} IS NULL AND EXCLUDED.{c} IS NOT NULL)" for c in _ACCOUNT_NULLABLE]
    )
}
    RETURNING (xmax = 0) AS inserted
)
SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM upserted
"""

_POSTS_UPSERT = f"""
WITH upserted AS (
    INSERT INTO detection_post AS t (platform, post_id, account_id, created_at, {", ".join(_SCALARS + _LISTS)})
    SELECT s.platform, s.post_id, a.id, s.created_at, {", ".join(f"s.{c}" for c in _SCALARS)},
           {", ".join(f"to_jsonb(s.{c})" for c in _LISTS)}
    FROM import_posts s
    JOIN detection_socialaccount a ON a.platform = s.account_platform AND a.account_id = s.account_id
    ON CONFLICT (platform, post_id) DO UPDATE SET
        {", ".join(f"{c} = CASE WHEN t.{c} = '' THEN EXCLUDED.{c} ELSE t.{c} END" for c in _SCALARS)},
        {", ".join(f"{c} = detection_jsonb_union(t.{c}, EXCLUDED.{c})" for c in _LISTS)}
    WHERE {
    " OR ".join(
        [f"(t.{c} = '' AND EXCLUDED.{c} <> '')" for c in _SCALARS] + [f"NOT t.{c} @> EXCLUDED.{c}" for c in _LISTS]
    )
}
    RETURNING (xmax = 0) AS inserted
)
SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM upserted
"""

_LINK = """
INSERT INTO detection_samplepost (sample_id, post_id)
SELECT %s, p.id FROM import_posts s JOIN detection_post p ON p.platform = s.platform AND p.post_id = s.post_id
ON CONFLICT DO NOTHING
"""


def batch_store(
    sample_id: int, accounts: dict[Key, dict], posts: dict[Key, dict]
) -> tuple[tuple[int, int], tuple[int, int]]:
    """Upsert one batch inside the caller's transaction. Returns (inserted, updated) for accounts and posts."""
    with connection.cursor() as cursor:
        # The batch and its checkpoint commit together, so a crash that loses this commit loses both: the
        # import resumes from the previous checkpoint. No need to wait for the WAL flush.
        cursor.execute("SET LOCAL synchronous_commit = off")
        cursor.execute(_STAGING)
        raw = cursor.cursor
        with raw.copy(
            "COPY import_accounts (platform, account_id, handle, display_name, description, created_at, followers, "
            "following, post_count) FROM STDIN"
        ) as copy:
            for (platform, account_id), v in accounts.items():
                copy.write_row(
                    (
                        platform,
                        account_id,
                        v["handle"] or "",
                        v["display_name"] or "",
                        v["description"] or "",
                        v["created_at"],
                        v["followers"],
                        v["following"],
                        v["post_count"],
                    )
                )
        with raw.copy(
            f"COPY import_posts (platform, post_id, account_platform, account_id, created_at, "
            f"{', '.join(_SCALARS + _LISTS)}) FROM STDIN"
        ) as copy:
            for (platform, post_id), v in posts.items():
                copy.write_row(
                    (
                        platform,
                        post_id,
                        *v["account"],
                        v["created_at"],
                        v["text"],
                        v["text_normalised"],
                        v["reshare_of"],
                        v["reply_to"],
                        v["quote_of"],
                        v["lang"],
                        list(v["urls"]),
                        list(v["normalised_urls"]),
                        list(v["domains"]),
                        list(v["hashtags"]),
                        list(v["mentions"]),
                        list(v["media_hashes"]),
                    )
                )
        cursor.execute(_ACCOUNTS_UPSERT)
        account_counts = cursor.fetchone()
        cursor.execute(_POSTS_UPSERT)
        post_counts = cursor.fetchone()
        cursor.execute(_LINK, [sample_id])
        cursor.execute("DROP TABLE import_accounts, import_posts")
    return tuple(account_counts), tuple(post_counts)
