"""Per-group features from what the engine computed, for the classifier of groups (numpy only, no Django).

Each feature describes how a group coordinates, not who it is: which behaviours tie it and how strongly, whether
one account leads, how regular the lags are, how bursty and how copied its posting is, when and how its accounts
were made. Coordination that chance cannot explain is what the engine finds; these are what tell a troll farm
from a newsroom's syndication, a fan community or a government's own accounts.
"""

from __future__ import annotations

import numpy as np

from detection.engine.api import EngineResult
from detection.engine.params import BEHAVIOURS
from detection.engine.scoring import HANDLE_PATTERN, MAX_SURPRISE

FEATURES_VERSION = "1"
CREATION_WINDOW_DAYS = 3.0

FEATURE_NAMES: tuple[str, ...] = (
    "log_size",
    "engine_score",
    "n_behaviours",
    *(f"weight_share_{b}" for b in BEHAVIOURS),
    "edge_density",
    "mean_edge_surprise",
    "top_leader_share",
    "lead_entropy",
    "log_median_lag_s",
    "lag_cv",
    "edge_lag_spread",
    "burstiness",
    "coordinated_share",
    "reshare_share",
    "text_diversity",
    "created_known_share",
    "log_creation_spread_days",
    "creation_cluster_share",
    "log_median_age_days",
    "handle_digits_share",
    "handle_prefix_share",
    "known_overlap_share",
)


def group_features(result: EngineResult, known: np.ndarray | None = None) -> np.ndarray:
    """A (groups, FEATURE_NAMES) float matrix, row i for result.groups[i].

    known: a boolean per account code, true for accounts of earlier confirmed groups or of a campaign's
    takedown assets (all false when not given).
    """
    arrays, scores = result.arrays, result.scores
    n_groups = len(result.groups)
    out = np.zeros((n_groups, len(FEATURE_NAMES)))
    if n_groups == 0:
        return out
    column = {name: i for i, name in enumerate(FEATURE_NAMES)}
    gid = scores.account_group  # 1-based, 0 = in no group
    size = np.array([len(m) for m in result.groups], dtype=float)
    g = n_groups + 1

    weight = np.zeros((g, len(BEHAVIOURS)))
    n_edges = np.zeros(g)
    surprise = np.zeros(g)
    lag_group, lag_value, lag_edge = [], [], []
    coordinated_post = np.zeros(arrays.n_posts, dtype=bool)
    edge_offset = 0
    for edges in result.edges.values():
        ga = gid[edges.a]
        inside = (ga == gid[edges.b]) & (ga > 0)
        col = BEHAVIOURS.index(edges.behaviour)
        weight[:, col] = np.bincount(ga[inside], weights=edges.weight[inside], minlength=g)
        n_edges += np.bincount(ga[inside], minlength=g)
        s = np.minimum(-np.log10(np.maximum(edges.p_value[inside], 1e-300)), MAX_SURPRISE)
        surprise += np.bincount(ga[inside], weights=s, minlength=g)
        d = edges.details
        pair_inside = inside[d.pair_edge] if len(d.pair_edge) else np.zeros(0, bool)
        pa, pb = d.pair_post_a[pair_inside], d.pair_post_b[pair_inside]
        coordinated_post[pa] = True
        coordinated_post[pb] = True
        lag_group.append(gid[arrays.account[pa]])
        lag_value.append(np.abs(arrays.time[pb] - arrays.time[pa]))
        lag_edge.append(d.pair_edge[pair_inside] + edge_offset)
        edge_offset += len(edges.a)

    total_weight = weight.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(total_weight[:, None] > 0, weight / total_weight[:, None], 0.0)
        possible = size * (size - 1) / 2
        out[:, column["edge_density"]] = np.minimum(n_edges[1:] / np.maximum(possible, 1), 1.0)
        out[:, column["mean_edge_surprise"]] = surprise[1:] / np.maximum(n_edges[1:], 1)
    out[:, column["log_size"]] = np.log1p(size)
    out[:, column["engine_score"]] = scores.group_score
    out[:, column["n_behaviours"]] = (weight[1:] > 0).sum(axis=1)
    for i, b in enumerate(BEHAVIOURS):
        out[:, column[f"weight_share_{b}"]] = share[1:, i]

    _leadership(out, column, result, gid, g)
    _lags(out, column, np.concatenate(lag_group), np.concatenate(lag_value), np.concatenate(lag_edge), g)
    _posting(out, column, result, gid, coordinated_post, g)
    _accounts(out, column, result)
    if known is not None:
        in_group = gid > 0
        out[:, column["known_overlap_share"]] = np.bincount(gid[in_group], weights=known[in_group], minlength=g)[
            1:
        ] / np.maximum(size, 1)
    return out


def _leadership(out, column, result, gid, g) -> None:
    """How much of the group's acting-first one account holds, and how evenly acting-first is spread."""
    lead = result.scores.lead.astype(float)
    in_group = gid > 0
    total = np.bincount(gid[in_group], weights=lead[in_group], minlength=g)
    top = np.zeros(g)
    np.maximum.at(top, gid[in_group], lead[in_group])
    with np.errstate(invalid="ignore", divide="ignore"):
        p = np.where(total[gid] > 0, lead / total[gid], 0.0)
        plogp = np.where(p > 0, -p * np.log(p), 0.0)
    entropy = np.bincount(gid[in_group], weights=plogp[in_group], minlength=g)
    size = np.bincount(gid[in_group], minlength=g)
    out[:, column["top_leader_share"]] = np.where(total > 0, top / np.maximum(total, 1), 0.0)[1:]
    out[:, column["lead_entropy"]] = np.where(size > 1, entropy / np.log(np.maximum(size, 2)), 0.0)[1:]


def _lags(out, column, group: np.ndarray, lag: np.ndarray, edge: np.ndarray, g: int) -> None:
    """The distribution of seconds between paired posts: its median, its spread, and how fixed each edge's is.

    A schedule (syndication) repeats the same lag on an edge; people, paid or not, do not.
    """
    if len(lag) == 0:
        return
    order = np.lexsort((lag, group))
    grp, lag_sorted = group[order], lag[order]
    counts = np.bincount(grp, minlength=g)
    start = np.concatenate(([0], np.cumsum(counts)[:-1]))
    has = counts > 0
    median = np.zeros(g)
    median[has] = (lag_sorted[start[has] + (counts[has] - 1) // 2] + lag_sorted[start[has] + counts[has] // 2]) / 2
    n = np.maximum(counts, 1)
    mean = np.bincount(grp, weights=lag_sorted, minlength=g) / n
    std = np.sqrt(np.maximum(np.bincount(grp, weights=lag_sorted**2, minlength=g) / n - mean**2, 0))
    cv = np.divide(std, mean, out=np.zeros(g), where=mean > 0)
    # Per edge: the spread of its lags relative to their mean, averaged over the group's edges.
    edge_ids, edge_idx = np.unique(edge, return_inverse=True)
    e_count = np.bincount(edge_idx).astype(float)
    e_mean = np.bincount(edge_idx, weights=lag) / e_count
    e_std = np.sqrt(np.maximum(np.bincount(edge_idx, weights=lag**2) / e_count - e_mean**2, 0))
    e_group = np.zeros(len(edge_ids), dtype=np.int64)
    e_group[edge_idx] = group
    spread = np.bincount(e_group, weights=e_std / (e_mean + 1.0), minlength=g)
    spread /= np.maximum(np.bincount(e_group, minlength=g), 1)
    out[:, column["log_median_lag_s"]] = np.log1p(median[1:])
    out[:, column["lag_cv"]] = cv[1:]
    out[:, column["edge_lag_spread"]] = spread[1:]


def _posting(out, column, result, gid, coordinated_post, g) -> None:
    """Burstiness of the members' posting, and what share of it is coordinated, reshared and distinct text."""
    arrays = result.arrays
    post_group = gid[arrays.account]
    mine = post_group > 0
    posts = np.bincount(post_group[mine], minlength=g).astype(float)
    out[:, column["coordinated_share"]] = np.bincount(post_group[mine], weights=coordinated_post[mine], minlength=g)[
        1:
    ] / np.maximum(posts[1:], 1)
    reshare = np.zeros(arrays.n_posts, dtype=bool)
    table = arrays.objects.get("co-reshare")
    if table is not None:
        reshare[table.post] = True
    out[:, column["reshare_share"]] = np.bincount(post_group[mine], weights=reshare[mine], minlength=g)[
        1:
    ] / np.maximum(posts[1:], 1)
    if arrays.text_row is not None:
        with_text = mine & (arrays.text_row >= 0)
        n_text = np.bincount(post_group[with_text], minlength=g)
        distinct = np.unique(post_group[with_text] * (int(arrays.text_row.max()) + 2) + arrays.text_row[with_text])
        n_distinct = np.bincount(distinct // (int(arrays.text_row.max()) + 2), minlength=g)
        out[:, column["text_diversity"]] = np.where(n_text > 0, n_distinct / np.maximum(n_text, 1), 1.0)[1:]
    else:
        out[:, column["text_diversity"]] = 1.0
    # Burstiness (sigma - mu) / (sigma + mu) of the gaps between consecutive posts of the group's members.
    idx = np.flatnonzero(mine)
    order = np.lexsort((arrays.time[idx], post_group[idx]))
    grp, t = post_group[idx][order], arrays.time[idx][order]
    same = grp[1:] == grp[:-1]
    gaps, ggrp = np.diff(t)[same], grp[1:][same]
    k = np.bincount(ggrp, minlength=g).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.bincount(ggrp, weights=gaps, minlength=g) / np.maximum(k, 1)
        std = np.sqrt(np.maximum(np.bincount(ggrp, weights=gaps**2, minlength=g) / np.maximum(k, 1) - mean**2, 0))
        burst = np.where(std + mean > 0, (std - mean) / (std + mean), 0.0)
    out[:, column["burstiness"]] = burst[1:]


def _accounts(out, column, result) -> None:
    """When the members' accounts were made, and how their handles look."""
    arrays = result.arrays
    grouped = np.zeros(arrays.n_accounts, dtype=bool)  # only the groups' members are read
    grouped[np.concatenate(result.groups)] = True
    created = np.full(arrays.n_accounts, np.nan)
    handles = [""] * arrays.n_accounts
    for i in np.flatnonzero(grouped).tolist():
        key = arrays.account_keys[i]
        rec = arrays.accounts.get(key)
        if rec is not None and rec.created_at is not None:
            created[i] = rec.created_at.timestamp()
        handles[i] = ((rec.handle if rec is not None and rec.handle else arrays.handles.get(key, "")) or "").lstrip("@")
    first_post = np.full(arrays.n_accounts, np.inf)
    members_post = grouped[arrays.account]
    np.minimum.at(first_post, arrays.account[members_post], arrays.time[members_post])
    window = CREATION_WINDOW_DAYS * 86400
    for row, members in enumerate(result.groups):
        size = len(members)
        c = np.sort(created[members][~np.isnan(created[members])])
        out[row, column["created_known_share"]] = len(c) / size
        if len(c):
            q1, q3 = np.percentile(c, [25, 75])
            out[row, column["log_creation_spread_days"]] = np.log1p((q3 - q1) / 86400)
            near = np.searchsorted(c, c + window, "right") - np.arange(len(c))
            out[row, column["creation_cluster_share"]] = near.max() / size
            age = (first_post[members] - created[members]) / 86400
            out[row, column["log_median_age_days"]] = np.log1p(max(float(np.nanmedian(age)), 0.0))
        names = [handles[m] for m in members.tolist()]
        out[row, column["handle_digits_share"]] = sum(bool(h) and bool(HANDLE_PATTERN.match(h)) for h in names) / size
        prefixes = [h.split("_")[0][:8].lower() for h in names if h]
        if prefixes:
            _, counts = np.unique(prefixes, return_counts=True)
            out[row, column["handle_prefix_share"]] = counts.max() / size if counts.max() > 1 else 0.0
