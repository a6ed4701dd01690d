"""Small builders and a brute-force reference of the peers' co-action semantics, for the engine tests."""

from __future__ import annotations

import os
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

from detection.engine.records import PostRecord

T0 = 1_700_000_000


def shared_data() -> Path:
    default = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
    return Path(os.environ.get("SHARED_DATA", default)).resolve()


def post(pid: str, account: str, t: float, platform: str = "x", **fields) -> PostRecord:
    return PostRecord(
        platform=platform, post_id=pid, account_id=account, created_at=datetime.fromtimestamp(T0 + t, UTC), **fields
    )


def reference_edges(posts: list[PostRecord], objects_of, window: float) -> dict[tuple[str, str], tuple[int, int]]:
    """Toolkit semantics by brute force: directed weight = distinct posts of one account matched by the other's."""
    by_key = {(p.platform, p.post_id): p for p in posts}
    acts = [(o, p) for p in by_key.values() for o in set(objects_of(p))]
    matched: dict[tuple[str, str], set] = defaultdict(set)
    for o1, p1 in acts:
        for o2, p2 in acts:
            close = abs(p1.created_at.timestamp() - p2.created_at.timestamp()) <= window
            if o1 == o2 and p1.account_id != p2.account_id and close:
                matched[(p1.account_id, p2.account_id)].add(p1.post_id)
    out = {}
    for u, v in matched:
        a, b = sorted((u, v))
        out[(a, b)] = (len(matched.get((a, b), ())), len(matched.get((b, a), ())))
    return out
