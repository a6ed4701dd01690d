"""The results of a scoring run as rows: groups, account scores, edges and the evidence behind each edge.

The engine's result becomes columns once (`_result_columns`); one of two writers stores them. On PostgreSQL
the rows go in by COPY, with the primary keys the rows refer to (groups, edges) reserved from the tables'
sequences in one statement each: the groups and account scores (a few rows, with text) as COPY text, the edges
and their evidence (most of the rows, numbers only) in COPY's binary format straight from their numpy columns.
Elsewhere (SQLite) they go through the ORM's bulk_create. Both store the same rows
(tests/detection/test_run_results_contract.py), and both write inside the caller's transaction.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from django.db import connection, models

from detection.engine import EngineResult
from detection.ingest.batches import copy_escaped
from detection.pg_copy import BinaryCopy, copy_in, next_ids

from .models import AccountScore, CoordinatedGroup, CoordinationEdge, EdgeEvidence, ScoringRun

RESULT_WRITERS = ("copy", "orm")
_COPY_CHUNK_ROWS = 50_000


@dataclass
class _GroupRow:
    number: int
    score: float
    size: int
    behaviours: list[str]
    first_activity: datetime | None
    last_activity: datetime | None
    reasons: str
    leader_pk: int | None


@dataclass
class _BehaviourColumns:
    """One behaviour's edges and their evidence, as arrays; a group number of 0 is no group, a median that is
    not finite no median."""

    behaviour: str
    source_pk: np.ndarray
    target_pk: np.ndarray
    group: np.ndarray
    weight: np.ndarray
    weight_source_first: np.ndarray
    weight_target_first: np.ndarray
    expected: np.ndarray
    p_value: np.ndarray
    q_value: np.ndarray
    median_dt: np.ndarray
    evidence_edge: np.ndarray  # index of the evidence's edge in this behaviour's edges
    evidence_post_source: np.ndarray
    evidence_post_target: np.ndarray
    evidence_dt: np.ndarray

    def edge_rows(self) -> Iterator[tuple]:
        """Each edge as (source, target, group, weight, source first, target first, expected, p, q, median), in
        Python values, a missing median None."""
        median_dt = [m if np.isfinite(m) else None for m in self.median_dt.tolist()]
        return zip(
            self.source_pk.tolist(),
            self.target_pk.tolist(),
            self.group.tolist(),
            self.weight.tolist(),
            self.weight_source_first.tolist(),
            self.weight_target_first.tolist(),
            self.expected.tolist(),
            self.p_value.tolist(),
            self.q_value.tolist(),
            median_dt,
            strict=True,
        )

    def evidence_rows(self) -> Iterator[tuple]:
        """Each evidence row as (edge index, source post, target post, dt), in Python values."""
        return zip(
            self.evidence_edge.tolist(),
            self.evidence_post_source.tolist(),
            self.evidence_post_target.tolist(),
            self.evidence_dt.tolist(),
            strict=True,
        )


@dataclass
class _ResultColumns:
    groups: list[_GroupRow]
    account_pk: list[int]  # the accounts that score above 0, and their columns
    account_group: list[int]
    account_score: list[float]
    account_flagged: list[bool]
    account_reasons: list[str]
    account_lead: list[int]
    account_follow: list[int]
    edges: list[_BehaviourColumns]

    def score_rows(self) -> Iterator[tuple]:
        """Each scored account as (account, group, score, flagged, reasons, lead, follow)."""
        return zip(
            self.account_pk,
            self.account_group,
            self.account_score,
            self.account_flagged,
            self.account_reasons,
            self.account_lead,
            self.account_follow,
            strict=True,
        )

    @property
    def rows(self) -> int:
        """Rows this result stores, over its four tables."""
        edges = sum(len(e.source_pk) + len(e.evidence_edge) for e in self.edges)
        return len(self.groups) + len(self.account_pk) + edges


def run_results_store(
    *,
    run: ScoringRun,
    result: EngineResult,
    post_pk: np.ndarray,
    account_pk: np.ndarray,
    writer: str | None = None,
) -> int:
    """Store a finished run's results (groups, account scores, edges and their evidence) in place of any it has,
    and return how many rows that is.

    `post_pk` and `account_pk` map the engine's post indexes and account codes to primary keys. Call inside the
    reduce's transaction: a reduce killed mid-write leaves nothing. `writer` is "copy" (PostgreSQL only) or
    "orm"; by default COPY on PostgreSQL and the ORM elsewhere. The same result gives the same rows either way.
    """
    if writer is None:
        writer = "copy" if connection.vendor == "postgresql" else "orm"
    if writer not in RESULT_WRITERS:
        raise ValueError(f"unknown results writer {writer!r}")
    columns = _result_columns(result, post_pk, account_pk)
    CoordinatedGroup.objects.filter(run=run).delete()
    CoordinationEdge.objects.filter(run=run).delete()
    AccountScore.objects.filter(run=run).delete()
    if writer == "copy":
        _copy_store(run.pk, columns)
    else:
        _orm_store(run, columns)
    return columns.rows


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(float(epoch), tz=UTC)


def _stored_text(text: str) -> str:
    """Text as a database column can hold it: PostgreSQL refuses NUL in text, whoever writes it."""
    return text.replace("\x00", "")


def _result_columns(result: EngineResult, post_pk: np.ndarray, account_pk: np.ndarray) -> _ResultColumns:
    arrays = result.arrays
    scores = result.scores
    account_group = np.asarray(scores.account_group, dtype=np.int64)

    edges = []
    member_behaviours: dict[int, set[str]] = {}
    for behaviour, found in result.edges.items():
        group_a, group_b = account_group[found.a], account_group[found.b]
        inside = np.where((group_a > 0) & (group_a == group_b), group_a, 0)
        for group in np.unique(inside[inside > 0]).tolist():
            member_behaviours.setdefault(group, set()).add(behaviour)
        details = found.details
        edges.append(
            _BehaviourColumns(
                behaviour=behaviour,
                source_pk=account_pk[found.a],
                target_pk=account_pk[found.b],
                group=inside,
                weight=np.maximum(found.w_ab, found.w_ba).astype(np.int64),
                weight_source_first=details.first_a.astype(np.int64),
                weight_target_first=details.first_b.astype(np.int64),
                expected=found.expected.astype(float),
                p_value=found.p_value.astype(float),
                q_value=found.q_value.astype(float),
                median_dt=details.median_dt.astype(float),
                evidence_edge=details.ev_edge.astype(np.int64),
                evidence_post_source=post_pk[details.ev_post_a],
                evidence_post_target=post_pk[details.ev_post_b],
                evidence_dt=details.ev_dt.astype(float),
            )
        )

    # Each group's first and last post, from the posts of its members only.
    group_of_post = account_group[arrays.account]
    members_post = group_of_post > 0
    first = np.full(len(result.groups) + 1, np.inf)
    last = np.full(len(result.groups) + 1, -np.inf)
    np.minimum.at(first, group_of_post[members_post], arrays.time[members_post])
    np.maximum.at(last, group_of_post[members_post], arrays.time[members_post])
    groups = []
    for number, members in enumerate(result.groups, start=1):
        posted = np.isfinite(first[number])
        leader = scores.group_leader[number - 1]
        groups.append(
            _GroupRow(
                number=number,
                score=float(scores.group_score[number - 1]),
                size=len(members),
                behaviours=sorted(member_behaviours.get(number, ())),
                first_activity=_utc(first[number]) if posted else None,
                last_activity=_utc(last[number]) if posted else None,
                reasons=_stored_text(scores.group_reasons[number - 1]),
                leader_pk=int(account_pk[leader]) if leader >= 0 else None,
            )
        )

    scored = np.flatnonzero(scores.account_score > 0)
    return _ResultColumns(
        groups=groups,
        account_pk=account_pk[scored].tolist(),
        account_group=account_group[scored].tolist(),
        account_score=scores.account_score[scored].astype(float).tolist(),
        account_flagged=result.flagged[scored].tolist(),
        account_reasons=[_stored_text(scores.account_reasons[i]) for i in scored.tolist()],
        account_lead=scores.lead[scored].astype(np.int64).tolist(),
        account_follow=scores.follow[scored].astype(np.int64).tolist(),
        edges=edges,
    )


# --- The ORM writer ------------------------------------------------------------------------------------------


def _orm_store(run: ScoringRun, columns: _ResultColumns) -> None:
    groups = [
        CoordinatedGroup(
            run=run,
            number=g.number,
            score=g.score,
            size=g.size,
            behaviours=g.behaviours,
            first_activity=g.first_activity,
            last_activity=g.last_activity,
            reasons=g.reasons,
            leader_id=g.leader_pk,
        )
        for g in columns.groups
    ]
    group_pk = {g.number: g.pk for g in CoordinatedGroup.objects.bulk_create(groups, batch_size=2000)}
    AccountScore.objects.bulk_create(
        [
            AccountScore(
                run=run,
                account_id=account,
                group_id=group_pk.get(group),
                score=score,
                flagged=flagged,
                reasons=reasons,
                lead=lead,
                follow=follow,
            )
            for account, group, score, flagged, reasons, lead, follow in columns.score_rows()
        ],
        batch_size=5000,
    )
    for e in columns.edges:
        rows = [
            CoordinationEdge(
                run=run,
                behaviour=e.behaviour,
                source_id=source,
                target_id=target,
                group_id=group_pk.get(group),
                weight=weight,
                weight_source_first=source_first,
                weight_target_first=target_first,
                expected=expected,
                p_value=p_value,
                q_value=q_value,
                median_dt=median_dt,
            )
            for (source, target, group, weight, source_first, target_first, expected, p_value, q_value, median_dt) in (
                e.edge_rows()
            )
        ]
        stored = CoordinationEdge.objects.bulk_create(rows, batch_size=5000)
        EdgeEvidence.objects.bulk_create(
            [
                EdgeEvidence(edge_id=stored[edge].pk, post_source_id=source, post_target_id=target, dt=dt)
                for edge, source, target, dt in e.evidence_rows()
            ],
            batch_size=5000,
        )


# --- The COPY writer (PostgreSQL) ----------------------------------------------------------------------------


def _copy_store(run_id: int, columns: _ResultColumns) -> None:
    with connection.cursor() as cursor:
        group_ids = next_ids(cursor, CoordinatedGroup._meta.db_table, len(columns.groups))
        group_pk = dict(zip([g.number for g in columns.groups], map(int, group_ids), strict=True))
        copy_in(cursor, *_copy_table(CoordinatedGroup, _GROUP_COLUMNS, _group_lines(run_id, columns.groups, group_pk)))
        copy_in(cursor, *_copy_table(AccountScore, _SCORE_COLUMNS, _score_lines(run_id, columns, group_pk)))
        n_edges = sum(len(e.source_pk) for e in columns.edges)
        if n_edges:
            edge_pk = np.array(next_ids(cursor, CoordinationEdge._meta.db_table, n_edges), dtype=np.int64)
            for table in _edge_copies(run_id, columns.edges, edge_pk, group_pk):
                copy_in(cursor, *table)


def _edge_copies(
    run_id: int, edges: list[_BehaviourColumns], edge_pk: np.ndarray, group_pk: dict[int, int]
) -> list[tuple[str, list[bytes]]]:
    """The binary COPY of the edges, then of their evidence: each statement and its data."""
    group_pk_of = np.zeros(max(group_pk, default=0) + 1, dtype=np.int64)  # by group number
    group_pk_of[list(group_pk)] = list(group_pk.values())
    edge_copy, evidence_copy = BinaryCopy(CoordinationEdge, _EDGE_COLUMNS), BinaryCopy(EdgeEvidence, _EVIDENCE_COLUMNS)
    edge_data, evidence_data = [BinaryCopy.HEADER], [BinaryCopy.HEADER]
    offset = 0
    for e in edges:
        pks = edge_pk[offset : offset + len(e.source_pk)]
        offset += len(pks)
        edge_data.append(
            edge_copy.rows(
                len(pks),
                {
                    "id": pks,
                    "run": run_id,
                    "group": np.ma.array(group_pk_of[e.group], mask=e.group == 0),
                    "source": e.source_pk,
                    "target": e.target_pk,
                    "behaviour": e.behaviour,
                    "weight": e.weight,
                    "weight_source_first": e.weight_source_first,
                    "weight_target_first": e.weight_target_first,
                    "expected": e.expected,
                    "p_value": e.p_value,
                    "q_value": e.q_value,
                    "median_dt": np.ma.masked_invalid(e.median_dt),
                },
            )
        )
        evidence_data.append(
            evidence_copy.rows(
                len(e.evidence_edge),
                {
                    "edge": pks[e.evidence_edge],
                    "post_source": e.evidence_post_source,
                    "post_target": e.evidence_post_target,
                    "dt": e.evidence_dt,
                },
            )
        )
    return [
        (edge_copy.statement, [*edge_data, BinaryCopy.TRAILER]),
        (evidence_copy.statement, [*evidence_data, BinaryCopy.TRAILER]),
    ]


_GROUP_COLUMNS = (
    "id",
    "run",
    "number",
    "score",
    "size",
    "behaviours",
    "first_activity",
    "last_activity",
    "reasons",
    "leader",
)
_SCORE_COLUMNS = ("run", "account", "group", "score", "flagged", "reasons", "lead", "follow")
_EDGE_COLUMNS = ("id", "run", "group", "source", "target", "behaviour", "weight", "weight_source_first")
_EDGE_COLUMNS += ("weight_target_first", "expected", "p_value", "q_value", "median_dt")
_EVIDENCE_COLUMNS = ("edge", "post_source", "post_target", "dt")


def _copy_table(model: type[models.Model], names: tuple[str, ...], lines: Iterator[str]) -> tuple[str, Iterator[bytes]]:
    """COPY into the model's table and its rows as chunks of UTF-8 bytes, a few tens of thousands of rows each.

    `lines` hold the named fields; every other field takes its model default (a field added later with a
    default needs nothing here), an id not named its column's sequence.
    """
    meta = model._meta
    rest = [f for f in meta.concrete_fields if f.name not in names and not f.primary_key]
    columns = [meta.get_field(name).column for name in names] + [f.column for f in rest]
    tail = "".join(f"\t{_copy_default(f)}" for f in rest) + "\n"
    return f"COPY {meta.db_table} ({', '.join(columns)}) FROM STDIN", _chunks(lines, tail)


def _copy_default(field: models.Field) -> str:
    value = field.get_default()
    if value is None:
        return "\\N"
    if isinstance(value, str):
        return copy_escaped(value)
    raise TypeError(f"{field}: no COPY text for a default of {value!r}")


def _chunks(lines: Iterator[str], tail: str) -> Iterator[bytes]:
    chunk: list[str] = []
    for line in lines:
        chunk.append(line)
        if len(chunk) == _COPY_CHUNK_ROWS:
            yield tail.join([*chunk, ""]).encode()
            chunk = []
    if chunk:
        yield tail.join([*chunk, ""]).encode()


def _pk(value: int | None) -> str:
    return "\\N" if value is None else str(value)


def _time(value: datetime | None) -> str:
    return "\\N" if value is None else value.isoformat()


def _group_lines(run_id: int, groups: list[_GroupRow], group_pk: dict[int, int]) -> Iterator[str]:
    for g in groups:
        behaviours = copy_escaped(json.dumps(g.behaviours))
        yield (
            f"{group_pk[g.number]}\t{run_id}\t{g.number}\t{g.score!r}\t{g.size}\t{behaviours}\t"
            f"{_time(g.first_activity)}\t{_time(g.last_activity)}\t{copy_escaped(g.reasons)}\t{_pk(g.leader_pk)}"
        )


def _score_lines(run_id: int, columns: _ResultColumns, group_pk: dict[int, int]) -> Iterator[str]:
    for account, group, score, flagged, reasons, lead, follow in columns.score_rows():
        flag = "t" if flagged else "f"
        yield (
            f"{run_id}\t{account}\t{_pk(group_pk.get(group))}\t{score!r}\t{flag}\t{copy_escaped(reasons)}\t"
            f"{lead}\t{follow}"
        )
