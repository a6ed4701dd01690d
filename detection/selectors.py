"""Reads of the detection app: sample contents for the engine, run results for triage and for the reports."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from django.db import OperationalError, connection, transaction
from django.db.models import Count, Max, Min, Prefetch, Q, QuerySet
from psycopg.errors import QueryCanceled

from detection.engine.arrays import SEP
from detection.engine.params import EngineParams
from detection.engine.records import AccountRecord, PostRecord

from .models import (
    AccountScore,
    CoordinatedGroup,
    CoordinationEdge,
    EdgeEvidence,
    GroupStatus,
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
        cursor.execute("SELECT count(*) FROM detection_samplepost WHERE sample_id = %s", [sample_id])
        return int(cursor.fetchone()[0])


def sample_part_starts(*, sample_id: int, step: int) -> list[tuple[str, str]]:
    """The (platform, post id) of every step-th post of a sample in the engine's post order: where parts start."""
    sql = (
        "SELECT platform, post_id FROM (SELECT p.platform, p.post_id, "  # noqa: S608
        f"row_number() OVER ({_post_order()[1:]}) - 1 AS i FROM detection_post p "
        "JOIN detection_samplepost sp ON sp.post_id = p.id WHERE sp.sample_id = %s) k "
        "WHERE i %% %s = 0 ORDER BY i"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [sample_id, step])
        return [tuple(row) for row in cursor.fetchall()]


@dataclass
class SamplePart:
    """One range of a sample's posts, in the engine's post order, with each one's database keys."""

    posts: list[PostRecord]
    post_pk: list[int]
    account_pk: list[int]


def sample_part(*, sample_id: int, start: tuple[str, str], end: tuple[str, str] | None) -> SamplePart:
    """The posts from start (included) to end (excluded) in (platform, post id) order, streamed."""
    where = f" AND ({_c('p.platform')}, {_c('p.post_id')}) >= (%s, %s)"
    params: list = [sample_id, *start]
    if end is not None:
        where += f" AND ({_c('p.platform')}, {_c('p.post_id')}) < (%s, %s)"
        params += list(end)
    part = SamplePart(posts=[], post_pk=[], account_pk=[])
    parse_time = _parse_time()
    for row in _rows(_posts_sql(where, _post_order()), params, f"sample_part_{sample_id}"):
        part.posts.append(_post_record(row, parse_time))
        part.post_pk.append(row[0])
        part.account_pk.append(row[-1])
    return part


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
        f"SELECT a.id, a.platform || {sep} || a.account_id, a.handle, a.created_at, c.n FROM ("  # noqa: S608
        "SELECT p.account_id, count(*) AS n FROM detection_post p JOIN detection_samplepost sp ON sp.post_id = p.id "
        "WHERE sp.sample_id = %s GROUP BY p.account_id) c JOIN detection_socialaccount a ON a.id = c.account_id "
        f"ORDER BY {key}"
    )
    out = SampleAccounts(pk=[], keys=[], handle=[], created=[], posts=[])
    parse_time = _parse_time()
    for pk, account_key, handle, created_at, posts in _rows(sql, [sample_id], f"sample_accounts_{sample_id}"):
        if parse_time is not None and created_at is not None:
            created_at = parse_time(created_at, None, connection)
        out.pk.append(pk)
        out.keys.append(account_key)
        out.handle.append(handle)
        out.created.append(created_at.timestamp() if created_at is not None else float("nan"))
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
    digest = hashlib.sha256()
    for number, score, members in sorted(groups):
        digest.update(f"g|{number}|{score!r}|{','.join(sorted(members))}\n".encode())
    for key, score, group in sorted(accounts):
        digest.update(f"a|{key}|{score!r}|{group}\n".encode())
    for behaviour, a, b, weight in sorted(edges):
        digest.update(f"e|{behaviour}|{a}|{b}|{weight}\n".encode())
    return digest.hexdigest()


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

    def account_key(platform: str, account_id: str) -> str:
        return f"{platform}{SEP}{account_id}"

    members: dict[int, list[str]] = {}
    scores = []
    for platform, account_id, score, number in AccountScore.objects.filter(run=run).values_list(
        "account__platform", "account__account_id", "score", "group__number"
    ):
        scores.append((account_key(platform, account_id), score, number or 0))
        if number:
            members.setdefault(number, []).append(account_key(platform, account_id))
    groups = [(g.number, g.score, members.get(g.number, [])) for g in CoordinatedGroup.objects.filter(run=run)]
    edges = [
        (behaviour, account_key(sp, sa), account_key(tp, ta), weight)
        for behaviour, sp, sa, tp, ta, weight in CoordinationEdge.objects.filter(run=run).values_list(
            "behaviour", "source__platform", "source__account_id", "target__platform", "target__account_id", "weight"
        )
    ]
    return result_fingerprint(groups, scores, edges)


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


def group_network(*, group: CoordinatedGroup) -> dict:
    """Nodes and edges of a group for the network picture (plain data; the page escapes it as JSON)."""
    nodes = [
        {
            "id": str(m.account_id),
            "label": m.account.handle or m.account.account_id,
            "platform": m.account.platform,
            "score": round(m.score, 3),
            "flagged": m.flagged,
            "reasons": m.reasons,
        }
        for m in group.members.all()
    ]
    edges = [
        {
            "id": str(e.pk),
            "source": str(e.source_id),
            "target": str(e.target_id),
            "behaviour": e.behaviour,
            "weight": e.weight,
            "expected": round(e.expected, 3),
            "q_value": e.q_value,
            "median_dt": None if e.median_dt is None else round(e.median_dt, 1),
        }
        for e in group.edges.all()
    ]
    return {"nodes": nodes, "edges": edges}


def group_evidence(*, group: CoordinatedGroup, limit: int = 60) -> QuerySet[EdgeEvidence]:
    """Evidence post pairs of a group's edges, the closest in time first."""
    return (
        EdgeEvidence.objects.filter(edge__group=group)
        .select_related("edge", "post_source__account", "post_target__account")
        .order_by("dt", "pk")[:limit]
    )


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
