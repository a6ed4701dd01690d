"""The results of a scoring run as rows: groups, account scores, edges and the evidence behind each edge."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from detection.engine import EngineResult

from .models import AccountScore, CoordinatedGroup, CoordinationEdge, EdgeEvidence, ScoringRun


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(float(epoch), tz=UTC)


def run_results_store(*, run: ScoringRun, result: EngineResult, post_pk: np.ndarray, account_pk: np.ndarray) -> None:
    """Store a finished run's results (groups, account scores, edges and their evidence) in place of any it has.

    `post_pk` and `account_pk` map the engine's post indexes and account codes to primary keys. Call inside the
    reduce's transaction: a reduce killed mid-write leaves nothing.
    """
    arrays = result.arrays
    account_pks = account_pk.tolist()  # by account code
    post_pks = post_pk.tolist()  # by post index
    scores = result.scores
    CoordinatedGroup.objects.filter(run=run).delete()
    CoordinationEdge.objects.filter(run=run).delete()
    AccountScore.objects.filter(run=run).delete()

    member_behaviours: dict[int, set[str]] = {}
    for behaviour, edges in result.edges.items():
        for a, b in zip(edges.a.tolist(), edges.b.tolist(), strict=True):
            group = int(scores.account_group[a])
            if group and group == int(scores.account_group[b]):
                member_behaviours.setdefault(group, set()).add(behaviour)
    first = np.full(arrays.n_accounts, np.inf)
    last = np.full(arrays.n_accounts, -np.inf)
    np.minimum.at(first, arrays.account, arrays.time)
    np.maximum.at(last, arrays.account, arrays.time)
    groups = []
    for index, members in enumerate(result.groups, start=1):
        times = np.concatenate([first[members], last[members]])
        times = times[np.isfinite(times)]
        leader = scores.group_leader[index - 1]
        groups.append(
            CoordinatedGroup(
                run=run,
                number=index,
                score=float(scores.group_score[index - 1]),
                size=len(members),
                behaviours=sorted(member_behaviours.get(index, ())),
                first_activity=_utc(times.min()) if len(times) else None,
                last_activity=_utc(times.max()) if len(times) else None,
                reasons=scores.group_reasons[index - 1],
                leader_id=account_pks[leader] if leader >= 0 else None,
            )
        )
    group_pk = {g.number: g.pk for g in CoordinatedGroup.objects.bulk_create(groups, batch_size=2000)}

    flagged = result.flagged
    AccountScore.objects.bulk_create(
        [
            AccountScore(
                run=run,
                account_id=account_pks[i],
                group_id=group_pk.get(int(scores.account_group[i])),
                score=float(scores.account_score[i]),
                flagged=bool(flagged[i]),
                reasons=scores.account_reasons[i],
                lead=int(scores.lead[i]),
                follow=int(scores.follow[i]),
            )
            for i in np.flatnonzero(scores.account_score > 0).tolist()
        ],
        batch_size=5000,
    )
    for behaviour, edges in result.edges.items():
        details = edges.details
        rows = []
        for i, (a, b) in enumerate(zip(edges.a.tolist(), edges.b.tolist(), strict=True)):
            group = int(scores.account_group[a])
            rows.append(
                CoordinationEdge(
                    run=run,
                    behaviour=behaviour,
                    source_id=account_pks[a],
                    target_id=account_pks[b],
                    group_id=group_pk.get(group) if group and group == int(scores.account_group[b]) else None,
                    weight=int(max(edges.w_ab[i], edges.w_ba[i])),
                    weight_source_first=int(details.first_a[i]),
                    weight_target_first=int(details.first_b[i]),
                    expected=float(edges.expected[i]),
                    p_value=float(edges.p_value[i]),
                    q_value=float(edges.q_value[i]),
                    median_dt=float(details.median_dt[i]) if np.isfinite(details.median_dt[i]) else None,
                )
            )
        stored = CoordinationEdge.objects.bulk_create(rows, batch_size=5000)
        EdgeEvidence.objects.bulk_create(
            [
                EdgeEvidence(
                    edge_id=stored[e].pk, post_source_id=post_pks[pa], post_target_id=post_pks[pb], dt=float(dt)
                )
                for e, pa, pb, dt in zip(
                    details.ev_edge.tolist(),
                    details.ev_post_a.tolist(),
                    details.ev_post_b.tolist(),
                    details.ev_dt.tolist(),
                    strict=True,
                )
            ],
            batch_size=5000,
        )
