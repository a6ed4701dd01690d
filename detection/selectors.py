"""Reads of the detection app: sample contents for the engine, run results for triage and for the reports."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
from django.db import OperationalError, connection, transaction
from django.db.models import Count, F, Max, Min, Prefetch, Q, QuerySet, Value
from django.db.models.functions import Concat
from psycopg.errors import QueryCanceled

from campaigns.models import Campaign
from detection.engine.arrays import SEP
from detection.engine.params import BEHAVIOURS, EngineParams
from detection.engine.parts import PartPosts
from detection.engine.records import AccountRecord, PostRecord

from .models import (
    AccountScore,
    CoordinatedGroup,
    CoordinationEdge,
    EdgeEvidence,
    GroupStatus,
    NarrativeCluster,
    NarrativeClusterPost,
    NarrativeStatus,
    Post,
    Sample,
    ScoringRun,
    SocialAccount,
)

CHUNK = 10_000
_LIST_COLUMNS = ("urls", "normalised_urls", "domains", "hashtags", "mentions", "media_hashes")


@dataclass
class SampleContents:
    """A sample's posts and accounts as engine records, with the database keys of each engine key."""

    posts: list[PostRecord]
    accounts: list[AccountRecord]
    post_pk: dict[str, int]  # engine post key -> Post.pk
    account_pk: dict[str, int]  # engine account key -> SocialAccount.pk


def _json_list(text: str) -> tuple[str, ...]:
    return () if text == "[]" else tuple(json.loads(text))


def _json_lists(texts: Sequence[str]) -> list[tuple[str, ...]]:
    """Each JSON list text as a tuple. The lists that are not empty are parsed in one go, as the items of one
    JSON array: one call to the parser per column rather than per post."""
    full = [i for i, text in enumerate(texts) if text != "[]"]
    out: list[tuple[str, ...]] = [()] * len(texts)
    for i, items in zip(full, json.loads(f"[{','.join([texts[i] for i in full])}]"), strict=True):
        out[i] = tuple(items)
    return out


def _rows(sql: str, params: list, name: str):
    """Rows of a query, streamed (a server-side cursor on PostgreSQL) without the ORM's per-row converters."""
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.connection.cursor(name=name) as server_side:
                server_side.itersize = CHUNK
                server_side.execute(sql, params)
                yield from server_side
        else:
            cursor.execute(sql, params)
            while rows := cursor.fetchmany(CHUNK):
                yield from rows


def _posts_sql(where: str = "", order: str = "") -> str:
    as_text = "::text" if connection.vendor == "postgresql" else ""
    lists = ", ".join(f"p.{c}{as_text}" for c in _LIST_COLUMNS)
    return (
        "SELECT p.id, p.platform, p.post_id, a.account_id, a.handle, p.created_at, p.text, p.reshare_of, "  # noqa: S608
        f"p.reply_to, p.quote_of, p.lang, {lists}, a.id FROM detection_post p "
        "JOIN detection_samplepost sp ON sp.post_id = p.id JOIN detection_socialaccount a ON a.id = p.account_id "
        f"WHERE sp.sample_id = %s{where}{order}"
    )


def _post_record(row: tuple, parse_time) -> PostRecord:
    _, platform, post_id, account_id, handle, created_at, text, reshare_of, reply_to, quote_of, lang = row[:11]
    if parse_time is not None:
        created_at = parse_time(created_at, None, connection)
    urls, normalised_urls, domains, hashtags, mentions, media_hashes = (_json_list(v) for v in row[11:17])
    return PostRecord(
        platform=platform,
        post_id=post_id,
        account_id=account_id,
        created_at=created_at,
        text=text,
        reshare_of=reshare_of,
        reply_to=reply_to,
        quote_of=quote_of,
        urls=urls,
        normalised_urls=normalised_urls,
        domains=domains,
        hashtags=hashtags,
        mentions=mentions,
        media_hashes=media_hashes,
        lang=lang,
        handle=handle,
    )


def _parse_time():
    return connection.ops.convert_datetimefield_value if connection.vendor != "postgresql" else None


def sample_contents(*, sample_id: int) -> SampleContents:
    """Everything the engine needs from a sample, streamed from the database."""
    contents = SampleContents(posts=[], accounts=[], post_pk={}, account_pk={})
    parse_time = _parse_time()
    for row in _rows(_posts_sql(), [sample_id], f"sample_posts_{sample_id}"):
        record = _post_record(row, parse_time)
        contents.posts.append(record)
        contents.post_pk[f"{record.platform}{SEP}{record.post_id}"] = row[0]
    accounts = SocialAccount.objects.filter(posts__samples__pk=sample_id).distinct().order_by()
    for account in accounts.iterator(chunk_size=CHUNK):
        contents.accounts.append(
            AccountRecord(
                platform=account.platform,
                account_id=account.account_id,
                handle=account.handle,
                display_name=account.display_name,
                created_at=account.created_at,
                followers=account.followers,
                following=account.following,
                posts=account.post_count,
                description=account.description,
            )
        )
        contents.account_pk[f"{account.platform}{SEP}{account.account_id}"] = account.pk
    return contents


def _c(column: str) -> str:
    """A text column compared by code point (as Python compares strings): "C" collation on PostgreSQL."""
    return f'{column} COLLATE "C"' if connection.vendor == "postgresql" else column


def _post_order() -> str:
    return f" ORDER BY {_c('p.platform')}, {_c('p.post_id')}"


def sample_post_count(*, sample_id: int) -> int:
    """How many posts a sample holds."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM detection_post WHERE sample_id = %s", [sample_id])
        return int(cursor.fetchone()[0])


def sample_part_starts(*, sample_id: int, step: int) -> list[tuple[str, str]]:
    """The (platform, post id) of every step-th post of a sample in the engine's post order: where parts start."""
    sql = (
        "SELECT platform, post_id FROM (SELECT p.platform, p.post_id, "  # noqa: S608
        f"row_number() OVER ({_post_order()[1:]}) - 1 AS i FROM detection_post p WHERE p.sample_id = %s) k "
        "WHERE i %% %s = 0 ORDER BY i"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [sample_id, step])
        return [tuple(row) for row in cursor.fetchall()]


@dataclass
class SamplePart:
    """One range of a sample's posts, in the engine's post order, as columns, with each one's database keys."""

    posts: PartPosts
    post_pk: list[int]
    account_pk: list[int]


def _epoch(column: str) -> str:
    """A time column as epoch seconds. PostgreSQL computes them exactly and rounds once to float8, as Python's
    ``datetime.timestamp`` does, so both give the same double; SQLite's stored text is parsed in Python."""
    return f"EXTRACT(EPOCH FROM {column})::float8" if connection.vendor == "postgresql" else column


def _epochs(values: tuple, parse_time) -> np.ndarray:
    if parse_time is not None:
        values = [parse_time(v, None, connection).timestamp() for v in values]
    return np.array(values, dtype=np.float64)


def sample_part(*, sample_id: int, start: tuple[str, str], end: tuple[str, str] | None) -> SamplePart:
    """The posts from start (included) to end (excluded) in (platform, post id) order, streamed.

    A sample's posts are the posts it holds (``Post.sample``): the read walks them in order through the
    sample's code-point index (migration 0017) without a join or a sort.
    """
    key = f"({_c('p.platform')}, {_c('p.post_id')})"
    where = f" AND {key} >= (%s, %s)"
    params: list = [sample_id, *start]
    if end is not None:
        where += f" AND {key} < (%s, %s)"
        params += list(end)
    as_text = "::text" if connection.vendor == "postgresql" else ""
    lists = ", ".join(f"p.{c}{as_text}" for c in _LIST_COLUMNS)
    sql = (
        "SELECT p.id, p.account_id, p.platform, p.post_id, "  # noqa: S608
        f"{_epoch('p.created_at')}, p.text, p.reshare_of, p.reply_to, {lists} "
        f"FROM detection_post p WHERE p.sample_id = %s{where}{_post_order()}"
    )
    rows = list(_rows(sql, params, f"sample_part_{sample_id}"))
    if not rows:
        return SamplePart(posts=PartPosts.from_records([]), post_pk=[], account_pk=[])
    post_pk, account_pk, platform, post_id, created, text, reshare_of, reply_to, *listed = zip(*rows, strict=True)
    del rows
    urls, normalised_urls, domains, hashtags, mentions, media_hashes = map(_json_lists, listed)
    posts = PartPosts(
        platform=platform,
        post_id=post_id,
        time=_epochs(created, _parse_time()),
        reshare_of=reshare_of,
        reply_to=reply_to,
        text=text,
        urls=urls,
        normalised_urls=normalised_urls,
        domains=domains,
        hashtags=hashtags,
        mentions=mentions,
        media_hashes=media_hashes,
    )
    return SamplePart(posts=posts, post_pk=list(post_pk), account_pk=list(account_pk))


@dataclass
class SampleAccounts:
    """A sample's accounts in the engine's account order (platform, account id as one key), with their posts."""

    pk: list[int]
    keys: list[str]  # "platform<SEP>account_id"
    handle: list[str]
    created: list[float]  # epoch seconds, NaN when unknown
    posts: list[int]


def sample_accounts(*, sample_id: int) -> SampleAccounts:
    """The accounts that posted in a sample, sorted by their engine key, each with its post count there."""
    sep = "chr(31)" if connection.vendor == "postgresql" else "char(31)"
    key = _c(f"(a.platform || {sep} || a.account_id)")
    sql = (
        f"SELECT a.id, a.platform || {sep} || a.account_id, a.handle, {_epoch('a.created_at')}, c.n FROM ("  # noqa: S608
        "SELECT p.account_id, count(*) AS n FROM detection_post p WHERE p.sample_id = %s GROUP BY p.account_id) c "
        f"JOIN detection_socialaccount a ON a.id = c.account_id ORDER BY {key}"
    )
    out = SampleAccounts(pk=[], keys=[], handle=[], created=[], posts=[])
    parse_time = _parse_time()
    for pk, account_key, handle, created, posts in _rows(sql, [sample_id], f"sample_accounts_{sample_id}"):
        if parse_time is not None and created is not None:
            created = parse_time(created, None, connection).timestamp()
        out.pk.append(pk)
        out.keys.append(account_key)
        out.handle.append(handle)
        out.created.append(created if created is not None else float("nan"))
        out.posts.append(posts)
    return out


# Per behaviour, how the database names the object of each action (the engine's keys, or finer ones): the
# object, the list of a post's objects it is taken from (o), and which posts act (content skips reshares).
_CONTENT = "p.reshare_of = ''"
_ACTIONS = {
    "co-reshare": ("p.platform || chr(31) || p.reshare_of", "", "p.reshare_of <> ''"),
    "co-reply": ("p.platform || chr(31) || p.reply_to", "", f"p.reply_to <> '' AND {_CONTENT}"),
    "co-link": ("o", "CASE WHEN p.normalised_urls = '[]' THEN p.urls ELSE p.normalised_urls END", _CONTENT),
    "co-domain": ("o", "p.domains", _CONTENT),
    "co-hashtag": ("o", "p.hashtags", _CONTENT),
    "co-mention": ("p.platform || chr(31) || o", "p.mentions", _CONTENT),
    "same-text": ("p.text_normalised", "", f"p.text_normalised <> '' AND {_CONTENT}"),
    "same-media": ("o", "p.media_hashes", _CONTENT),
}


FLOOR_TIMEOUT_MS = 3_000  # about 400,000 posts: a larger sample is left to the prepare step's exact count


def sample_pair_floor(*, sample_id: int, params: EngineParams) -> dict[str, int] | None:
    """A lower bound of the co-action pairs each behaviour of a run would build, from the database in one pass
    over the sample's posts (PostgreSQL; None elsewhere, or past FLOOR_TIMEOUT_MS). similar-text counts 0: its
    objects are the engine's.

    An object acted on n times over a span s holds at least the pairs of n actions spread as evenly as they can
    be over the floor(s / w) + 1 stretches of the window w the span divides into (every pair inside one is in
    the window): exactly n(n - 1)/2 when the window covers the span. The stretches are a millisecond short of
    the window, so that no rounding of the engine's float times takes a pair counted here out of its window.
    """
    if connection.vendor != "postgresql":
        return None
    wanted = [b for b in params.behaviours if b in _ACTIONS]
    if not wanted:
        return dict.fromkeys(params.behaviours, 0)
    branches = " UNION ALL ".join(
        f"SELECT %s, {key} FROM (SELECT DISTINCT o FROM jsonb_array_elements_text({items}) o) i WHERE {where}"  # noqa: S608
        if items
        else f"SELECT %s, {key} WHERE {where}"
        for key, items, where in (_ACTIONS[b] for b in wanted)
    )
    stretch = max(params.window_s - 0.001, 0.0)
    sql = f"""
        WITH objects AS (
            SELECT a.b, count(*) AS n, extract(epoch FROM max(p.created_at) - min(p.created_at)) AS span
            FROM detection_samplepost sp JOIN detection_post p ON p.id = sp.post_id
            CROSS JOIN LATERAL ({branches}) a (b, k)
            WHERE sp.sample_id = %s GROUP BY a.b, a.k HAVING count(*) > 1
        ),
        stretches AS (
            SELECT b, n, CASE WHEN span = 0 THEN 1 WHEN %s = 0 THEN n
                              ELSE least(n, floor(span / %s)::bigint + 1) END AS m
            FROM objects
        )
        SELECT b, sum(mod(n, m) * (n / m + 1) * (n / m) / 2 + (m - mod(n, m)) * (n / m) * (n / m - 1) / 2)
        FROM stretches GROUP BY b
    """  # noqa: S608
    try:
        with transaction.atomic(), connection.cursor() as cursor:  # a savepoint: a cancelled query undoes only itself
            cursor.execute("SELECT current_setting('statement_timeout')")
            [timeout] = cursor.fetchone()
            cursor.execute("SELECT set_config('statement_timeout', %s, true)", [str(FLOOR_TIMEOUT_MS)])
            cursor.execute(sql, [*wanted, sample_id, stretch, stretch])
            found = {b: int(n) for b, n in cursor.fetchall()}
            cursor.execute("SELECT set_config('statement_timeout', %s, true)", [timeout])
    except OperationalError as exc:
        if isinstance(exc.__cause__, QueryCanceled):
            return None
        raise
    return {b: found.get(b, 0) for b in params.behaviours}


def result_fingerprint(
    groups: Iterable[tuple[int, float, Iterable[str]]],
    accounts: Iterable[tuple[str, float, int]],
    edges: Iterable[tuple[str, str, str, int]],
) -> str:
    """SHA-256 of a run's groups (number, score, member keys), account scores and edges, in a canonical order."""
    lines = [f"g|{number}|{score!r}|{','.join(sorted(members))}\n" for number, score, members in sorted(groups)]
    lines += [f"a|{key}|{score!r}|{group}\n" for key, score, group in sorted(accounts)]
    lines += [f"e|{behaviour}|{a}|{b}|{weight}\n" for behaviour, a, b, weight in sorted(edges)]
    return hashlib.sha256("".join(lines).encode()).hexdigest()


def engine_result_fingerprint(result) -> str:
    """The fingerprint of an engine result itself, to compare the single-process engine with a stored run."""
    keys = result.arrays.account_keys
    scores = result.scores
    groups = [
        (i, float(scores.group_score[i - 1]), [keys[a] for a in members.tolist()])
        for i, members in enumerate(result.groups, start=1)
    ]
    accounts = [
        (keys[i], float(scores.account_score[i]), int(scores.account_group[i]))
        for i in range(len(keys))
        if scores.account_score[i] > 0
    ]
    edges = [
        (behaviour, keys[a], keys[b], int(w))
        for behaviour, e in result.edges.items()
        for a, b, w in zip(e.a.tolist(), e.b.tolist(), e.weight.tolist(), strict=True)
    ]
    return result_fingerprint(groups, accounts, edges)


def run_result_fingerprint(*, run: ScoringRun) -> str:
    """The fingerprint of what the database holds for a run (compare two runs, or a run with the engine)."""

    def account_key(account: str) -> Concat:
        return Concat(f"{account}__platform", Value(SEP), f"{account}__account_id")

    members: dict[int, list[str]] = {}
    scores = []
    account_scores = AccountScore.objects.filter(run=run).order_by()
    for key, score, number in account_scores.values_list(account_key("account"), "score", "group__number"):
        scores.append((key, score, number or 0))
        if number:
            members.setdefault(number, []).append(key)
    groups = [
        (number, score, members.get(number, []))
        for number, score in CoordinatedGroup.objects.filter(run=run).order_by().values_list("number", "score")
    ]
    edges = CoordinationEdge.objects.filter(run=run).order_by()
    return result_fingerprint(
        groups, scores, edges.values_list("behaviour", account_key("source"), account_key("target"), "weight")
    )


def group_list() -> QuerySet[CoordinatedGroup]:
    """Groups with what their list columns need."""
    return CoordinatedGroup.objects.select_related("run__sample", "campaign", "leader")


def group_detail(*, group_id: int) -> CoordinatedGroup | None:
    """A group with its members (best first) and its run."""
    members = AccountScore.objects.select_related("account").order_by("-score")
    return (
        CoordinatedGroup.objects.select_related("run__sample", "campaign", "leader", "reviewed_by")
        .prefetch_related(Prefetch("members", queryset=members))
        .filter(pk=group_id)
        .first()
    )


def _account_pairs(edges: Iterable[dict]) -> dict[tuple[int, int], dict]:
    """Per-behaviour edge rows folded into one entry per account pair (lower account pk first): the pair's
    behaviours with their weights, its total weight, and how often each side acted first."""
    pairs: dict[tuple[int, int], dict] = {}
    for e in edges:
        low, high = sorted((e["source_id"], e["target_id"]))
        low_first, high_first = e["weight_source_first"], e["weight_target_first"]
        if low != e["source_id"]:
            low_first, high_first = high_first, low_first
        pair = pairs.setdefault(
            (low, high),
            {"source": low, "target": high, "weight": 0, "source_first": 0, "target_first": 0, "behaviours": []},
        )
        pair["weight"] += e["weight"]
        pair["source_first"] += low_first
        pair["target_first"] += high_first
        pair["behaviours"].append(
            {
                "behaviour": e["behaviour"],
                "weight": e["weight"],
                "expected": round(e["expected"], 3),
                "q_value": e["q_value"],
                "median_dt": None if e["median_dt"] is None else round(e["median_dt"], 1),
            }
        )
    for pair in pairs.values():
        pair["behaviours"].sort(key=lambda b: (-b["weight"], b["behaviour"]))
        pair["dominant"] = pair["behaviours"][0]["behaviour"]
    return pairs


_EDGE_FIELDS = (
    "source_id",
    "target_id",
    "behaviour",
    "weight",
    "weight_source_first",
    "weight_target_first",
    "expected",
    "q_value",
    "median_dt",
)


def first_mover(pairs: Iterable[dict]) -> tuple[int | None, dict[int, int], dict[int, int]]:
    """The account that acts first most often, net of the times it follows, over the given account pairs (its
    co-actions where it posted first minus those where its partner did; None when nobody leads), with every
    account's counts of leading and following. Ties go to the account that leads more, then to the lower pk."""
    lead: dict[int, int] = {}
    follow: dict[int, int] = {}
    for pair in pairs:
        for me, mine, theirs in (
            (pair["source"], pair["source_first"], pair["target_first"]),
            (pair["target"], pair["target_first"], pair["source_first"]),
        ):
            lead[me] = lead.get(me, 0) + mine
            follow[me] = follow.get(me, 0) + theirs
    ranked = sorted(lead, key=lambda a: (-(lead[a] - follow[a]), -lead[a], a))
    leader = ranked[0] if ranked and lead[ranked[0]] - follow[ranked[0]] > 0 else None
    return leader, lead, follow


def group_network(*, group: CoordinatedGroup) -> dict:
    """A group's accounts and one edge per account pair carrying its behaviours (plain data for the network
    picture; the page escapes it as JSON). The leader is the first mover within the group's own pairs."""
    edges = CoordinationEdge.objects.filter(group=group).values(*_EDGE_FIELDS)
    pairs = _account_pairs(edges)
    leader, lead, follow = first_mover(pairs.values())
    nodes = [
        {
            "id": str(m.account_id),
            "label": m.account.handle or m.account.account_id,
            "platform": m.account.platform,
            "score": round(m.score, 3),
            "flagged": m.flagged,
            "reasons": m.reasons,
            "lead": lead.get(m.account_id, 0),
            "follow": follow.get(m.account_id, 0),
            "leader": m.account_id == leader,
        }
        for m in group.members.all()
    ]
    return {
        "nodes": nodes,
        "edges": [_pair_element(pair) for pair in pairs.values()],
        "leader": None if leader is None else str(leader),
        "leader_label": next((n["label"] for n in nodes if n["leader"]), None),
        "behaviours": sorted({b["behaviour"] for p in pairs.values() for b in p["behaviours"]}),
    }


def _pair_element(pair: dict) -> dict:
    return {
        **pair,
        "id": f"{pair['source']}-{pair['target']}",
        "source": str(pair["source"]),
        "target": str(pair["target"]),
    }


def group_evidence(*, group: CoordinatedGroup, limit: int = 60) -> QuerySet[EdgeEvidence]:
    """Evidence post pairs of a group's edges, the closest in time first."""
    return (
        EdgeEvidence.objects.filter(edge__group=group)
        .select_related("edge", "post_source__account", "post_target__account")
        .order_by("dt", "pk")[:limit]
    )


# What made a post pair, per behaviour: the kind of object shared and how to read it from the two posts.
_SHARED_LISTS = {
    "co-domain": ("domain", "domains", ""),
    "co-hashtag": ("hashtag", "hashtags", "#"),
    "co-mention": ("mention", "mentions", "@"),
    "same-media": ("media hash", "media_hashes", ""),
}
SHARED_PER_BEHAVIOUR = 3
EXCERPT_CHARS = 100


def _links(post: Post) -> list[str]:
    return post.normalised_urls or post.urls


def shared_objects(behaviour: str, first: Post, second: Post) -> list[dict]:
    """The objects two posts share that made them a pair in one behaviour (the engine keeps the pair, not the
    object, so it is read back from the posts): [{"kind", "value", "is_text"}], at most SHARED_PER_BEHAVIOUR."""
    if behaviour == "co-reshare":
        values, kind = [first.reshare_of], "reshared post"
    elif behaviour == "co-reply":
        values, kind = [first.reply_to], "replied-to post"
    elif behaviour == "co-link":
        theirs = set(_links(second))
        values, kind = [u for u in _links(first) if u in theirs], "link"
    elif behaviour in _SHARED_LISTS:
        kind, field, prefix = _SHARED_LISTS[behaviour]
        theirs = set(getattr(second, field))
        values = [f"{prefix}{v}" for v in getattr(first, field) if v in theirs]
    elif behaviour in ("same-text", "similar-text"):
        text = " ".join(first.text.split())
        values = [text if len(text) <= EXCERPT_CHARS else text[: EXCERPT_CHARS - 1] + "\u2026"]
        kind = "same text" if behaviour == "same-text" else "similar text"
    else:
        values, kind = [], behaviour
    is_text = behaviour in ("same-text", "similar-text")
    return [{"kind": kind, "value": v, "is_text": is_text} for v in dict.fromkeys(values) if v][:SHARED_PER_BEHAVIOUR]


@dataclass
class EvidencePair:
    """One pair of posts behind a group's edges, with every behaviour it counts for, ordered by who posted first."""

    first: Post
    second: Post
    behaviours: list[str]
    shared: list[dict]  # {"behaviour", "kind", "value", "is_text"}

    @property
    def lag(self) -> float:
        """Seconds from the first post to the second (never negative)."""
        return (self.second.created_at - self.first.created_at).total_seconds()

    @property
    def simultaneous(self) -> bool:
        """Both posts carry the same time (most platforms give seconds)."""
        return self.lag == 0

    @property
    def lag_words(self) -> str:
        """The lag as a person reads it: 16.9 s, 4 min 12 s, 2 h 5 min (never a bare 0.0 s)."""
        lag = self.lag
        if lag < 0.1:
            return "under 0.1 s"
        if lag < 60:
            return f"{lag:.1f} s"
        minutes, seconds = divmod(round(lag), 60)
        if minutes < 60:
            return f"{minutes} min {seconds} s"
        return f"{minutes // 60} h {minutes % 60} min"

    @property
    def account_pair(self) -> str:
        """The network's edge id of the two accounts (lower account pk first)."""
        low, high = sorted((self.first.account_id, self.second.account_id))
        return f"{low}-{high}"


@dataclass
class GroupEvidence:
    pairs: list[EvidencePair]
    total: int  # distinct post pairs stored for the group
    per_account_pair: int


def group_evidence_pairs(*, group: CoordinatedGroup, per_account_pair: int = 3, limit: int = 600) -> GroupEvidence:
    """A group's evidence as one row per post pair (a pair sharing a link and its domain is one row with both
    behaviours), the closest in time first: at most per_account_pair for each pair of accounts and at most limit
    in all, every pair of accounts with at least one while the limit allows, so that each link of the picture
    shows its evidence."""
    behaviour_order = {b: i for i, b in enumerate(BEHAVIOURS)}
    found: dict[tuple[int, int], dict] = {}
    rows = EdgeEvidence.objects.filter(edge__group=group).values_list(
        "post_source_id", "post_target_id", "dt", "edge__behaviour", "edge__source_id", "edge__target_id"
    )
    for post_a, post_b, dt, behaviour, account_a, account_b in rows:
        entry = found.setdefault(
            tuple(sorted((post_a, post_b))),
            {"lag": abs(dt), "accounts": tuple(sorted((account_a, account_b))), "behaviours": set()},
        )
        entry["behaviours"].add(behaviour)
    ranked = []
    per_accounts: dict[tuple[int, int], int] = {}
    for posts, entry in sorted(found.items(), key=lambda item: (item[1]["lag"], item[0])):
        rank = per_accounts.get(entry["accounts"], 0)
        per_accounts[entry["accounts"]] = rank + 1
        if rank < per_account_pair:
            ranked.append((rank, entry["lag"], posts, entry))
    # Every pair of accounts its closest post pair before any its second, so the limit leaves no link bare.
    kept = {posts: entry for _, _, posts, entry in sorted(ranked)[:limit]}
    kept = dict(sorted(kept.items(), key=lambda item: (item[1]["lag"], item[0])))
    post_ids = {pk for posts in kept for pk in posts}
    by_pk = Post.objects.select_related("account").in_bulk(post_ids)
    pairs = []
    for (pk_a, pk_b), entry in kept.items():
        first, second = sorted((by_pk[pk_a], by_pk[pk_b]), key=lambda p: (p.created_at, p.pk))
        behaviours = sorted(entry["behaviours"], key=lambda b: behaviour_order.get(b, len(behaviour_order)))
        shared, seen = [], set()  # one line per object: a text both the same and similar is shown once
        for behaviour in behaviours:
            for obj in shared_objects(behaviour, first, second):
                if obj["value"] not in seen:
                    seen.add(obj["value"])
                    shared.append({"behaviour": behaviour, **obj})
        pairs.append(EvidencePair(first=first, second=second, behaviours=behaviours, shared=shared))
    return GroupEvidence(pairs=pairs, total=len(found), per_account_pair=per_account_pair)


RUN_NETWORK_MAX_ACCOUNTS = 400


def run_network(*, run: ScoringRun, max_accounts: int = RUN_NETWORK_MAX_ACCOUNTS) -> dict:
    """Every group of a run in one picture: the accounts of the best-scoring groups, as many as fit in
    max_accounts (the best group always), and one edge per account pair among them, inside a group or across
    two. Says how many groups and accounts it leaves out."""
    groups = list(
        CoordinatedGroup.objects.filter(run=run)
        .order_by("-score", "number")
        .values("pk", "number", "score", "size", "status", "leader_id")
    )
    drawn: list[dict] = []
    accounts = 0
    for group in groups:
        if drawn and accounts + group["size"] > max_accounts:
            break
        drawn.append(group)
        accounts += group["size"]
    number_of = {g["pk"]: g["number"] for g in drawn}
    leaders = {g["leader_id"] for g in drawn}
    members = AccountScore.objects.filter(group_id__in=number_of).values(
        "account_id", "account__handle", "account__account_id", "account__platform", "score", "flagged", "group_id"
    )
    nodes = [
        {
            "id": str(m["account_id"]),
            "label": m["account__handle"] or m["account__account_id"],
            "platform": m["account__platform"],
            "score": round(m["score"], 3),
            "flagged": m["flagged"],
            "group": number_of[m["group_id"]],
            "leader": m["account_id"] in leaders,
        }
        for m in members
    ]
    ids = [int(n["id"]) for n in nodes]
    edges = CoordinationEdge.objects.filter(run=run, source_id__in=ids, target_id__in=ids).values(*_EDGE_FIELDS)
    return {
        "nodes": nodes,
        "edges": [_pair_element(pair) for pair in _account_pairs(edges).values()],
        "groups": [
            {
                "pk": g["pk"],
                "number": g["number"],
                "score": round(g["score"], 3),
                "size": g["size"],
                "status": g["status"],
            }
            for g in drawn
        ],
        "groups_total": len(groups),
        "accounts_total": sum(g["size"] for g in groups),
        "accounts_drawn": len(nodes),
    }


def group_timeline(*, group: CoordinatedGroup) -> list[dict]:
    """Posts per hour of the group's members within the run's sample, for the timeline picture."""
    from django.db.models.functions import TruncHour

    rows = (
        Post.objects.filter(samples=group.run.sample_id, account__scores__group=group)
        .annotate(hour=TruncHour("created_at"))
        .values("hour")
        .annotate(posts=Count("pk"))
        .order_by("hour")
    )
    return list(rows)


def group_span(*, group_id: int) -> dict:
    """First and last post of a group's members in its run's sample."""
    group = CoordinatedGroup.objects.select_related("run").get(pk=group_id)
    return Post.objects.filter(samples=group.run.sample_id, account__scores__group=group).aggregate(
        first=Min("created_at"), last=Max("created_at")
    )


def sample_list() -> QuerySet[Sample]:
    """Every sample, for the caller to narrow to those its reader may see."""
    return Sample.objects.all()


def groups_active_in(*, start: date, end: date) -> QuerySet[CoordinatedGroup]:
    """Groups not rejected whose members posted within the period (a group with no activity dates: whose run
    finished in it), with their run, sample and campaign."""
    active = Q(first_activity__date__lte=end, last_activity__date__gte=start)
    undated = Q(first_activity__isnull=True, last_activity__isnull=True, run__finished_at__date__range=(start, end))
    return (
        CoordinatedGroup.objects.exclude(status=GroupStatus.REJECTED)
        .filter(active | undated)
        .select_related("run", "run__sample", "campaign")
    )


def group_member_scores(*, group: CoordinatedGroup) -> QuerySet[AccountScore]:
    """A group's members with their accounts, best score first (then by account)."""
    return AccountScore.objects.filter(group=group).select_related("account").order_by("-score", "account_id")


def sample_work_counts(*, sample: Sample) -> dict[str, int]:
    """A sample's scoring runs, the groups they found, and those groups still to review."""
    groups = CoordinatedGroup.objects.filter(run__sample=sample)
    return {
        "runs": sample.runs.count(),
        "groups": groups.count(),
        "to_review": groups.filter(status=GroupStatus.NEW).count(),
    }


# --- Narrative clusters -----------------------------------------------------------------------------------

NARRATIVE_POSTS_LIMIT = 100_000
NARRATIVE_REFERENCE_POSTS = 50


def _flagged_members(run: ScoringRun) -> QuerySet[AccountScore]:
    """The members of a run's groups that narrative discovery reads: flagged accounts of groups not rejected, and
    every member of a confirmed group."""
    return (
        AccountScore.objects.filter(run=run, group__isnull=False)
        .exclude(group__status=GroupStatus.REJECTED)
        .filter(Q(flagged=True) | Q(group__status=GroupStatus.CONFIRMED))
    )


def run_flagged_posts(*, run: ScoringRun, limit: int = NARRATIVE_POSTS_LIMIT) -> list[dict]:
    """The posts with text of a run's flagged group members (first `limit`, by post key): pk, text, created_at,
    lang and account_id."""
    accounts = _flagged_members(run).values("account_id")
    return list(
        Post.objects.filter(sample_id=run.sample_id, account_id__in=accounts)
        .exclude(text="")
        .order_by("pk")
        .values("pk", "text", "created_at", "lang", "account_id")[:limit]
    )


def run_account_groups(*, run: ScoringRun) -> dict[int, int]:
    """Account pk -> group pk, for the members narrative discovery reads."""
    return dict(_flagged_members(run).values_list("account_id", "group_id"))


def narrative_reference_texts(*, posts_per_narrative: int = NARRATIVE_REFERENCE_POSTS) -> dict[int, list[str]]:
    """What each catalogue narrative is known to say, by narrative pk: its name and summary, then posts of the
    clusters researchers accepted as it (their representatives first)."""
    from campaigns.models import Narrative

    texts = {pk: [name, summary] for pk, name, summary in Narrative.objects.values_list("pk", "name", "summary")}
    taken: dict[int, int] = {}
    confirmed = (
        NarrativeClusterPost.objects.filter(cluster__status=NarrativeStatus.ACCEPTED)
        .order_by("cluster__narrative_id", F("representative_rank").asc(nulls_last=True), "cluster_id", "post_id")
        .values_list("cluster__narrative_id", "post__text")
    )
    for narrative_id, text in confirmed.iterator():
        if narrative_id in texts and taken.get(narrative_id, 0) < posts_per_narrative:
            texts[narrative_id].append(text)
            taken[narrative_id] = taken.get(narrative_id, 0) + 1
    return texts


def narrative_cluster_campaigns(*, cluster: NarrativeCluster) -> QuerySet[Campaign]:
    """The campaigns the cluster's groups are attached to."""
    return Campaign.objects.filter(coordinated_groups__narrative_clusters=cluster).distinct()


def narrative_cluster_representatives(*, cluster: NarrativeCluster) -> QuerySet[Post]:
    """The cluster's posts closest to its centroid, closest first, with their accounts."""
    post_ids = cluster.memberships.filter(representative_rank__isnull=False).order_by("representative_rank")
    ranked = {pk: rank for rank, pk in enumerate(post_ids.values_list("post_id", flat=True))}
    return sorted(Post.objects.filter(pk__in=ranked).select_related("account"), key=lambda p: ranked[p.pk])


def narrative_clusters_accepted_in(*, start: date, end: date) -> QuerySet[NarrativeCluster]:
    """Accepted clusters whose posts fall within the period, with their run, sample and narrative."""
    return (
        NarrativeCluster.objects.filter(
            status=NarrativeStatus.ACCEPTED, first_post_at__date__lte=end, last_post_at__date__gte=start
        )
        .select_related("run__sample", "narrative")
        .prefetch_related("groups")
        .order_by("-size", "run_id", "number")
    )
