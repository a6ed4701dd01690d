"""Scores in [0, 1] for accounts and groups, each with the reasons that make it."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from detection.engine.arrays import PostArrays, TimeOrder
from detection.engine.params import EngineParams

# How much each signal weighs in an account's score; they sum to 1.
WEIGHTS = {
    "strength": 0.35,  # how far its kept edges are beyond chance: sum of -log10(p)
    "breadth": 0.15,  # how many accounts it co-acts with beyond chance
    "behaviours": 0.15,  # in how many distinct behaviours
    "synchrony": 0.15,  # how close in time its co-actions are, relative to the window
    "content": 0.10,  # share of its posts repeating a partner's text or media
    "account": 0.10,  # creation bursts in its group, handle pattern, machine-like posting rhythm
}
STRENGTH_SCALE = 100.0  # summed -log10(p) at which strength reaches 1 - 1/e
MAX_SURPRISE = 300.0  # -log10(p) of one edge is capped here (p underflows to 0 beyond)
BREADTH_SCALE = 8.0  # partners at which breadth reaches 1 - 1/e
CREATION_BURST_DAYS = 3.0
CREATION_BURST_MIN = 3  # other group members created within that many days, and at least
CREATION_BURST_SHARE = 0.3  # this share of the rest of the group
RHYTHM_MIN_POSTS = 5
RHYTHM_MAX_CV = 0.25  # coefficient of variation of gaps below which posting looks scheduled
HANDLE_PATTERN = re.compile(r"^[^\W\d_]{2,}[_.]?\d{3,}$")  # name followed by digits, as sign-up scripts make
TEXT_BEHAVIOURS = ("same-text", "similar-text", "same-media")


@dataclass
class KeptEdges:
    """The kept edges of one behaviour with the posts of their distinct co-action pairs."""

    behaviour: str
    a: np.ndarray
    b: np.ndarray
    weight: np.ndarray
    p_value: np.ndarray
    first_a: np.ndarray
    first_b: np.ndarray
    pair_edge: np.ndarray
    pair_post_a: np.ndarray
    pair_post_b: np.ndarray


@dataclass
class Scores:
    """Scores of one run: per account and per group."""

    account_score: np.ndarray
    account_reasons: list[str]
    account_group: np.ndarray  # 0 = in no group
    lead: np.ndarray  # distinct co-action pairs where the account acted first
    follow: np.ndarray
    group_score: list[float]
    group_reasons: list[str]
    group_leader: list[int]  # account index, -1 when nobody leads


def _per_account_median(account: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    out = np.full(n, np.nan)
    if len(account) == 0:
        return out
    order = np.lexsort((values, account))
    acc, val = account[order], values[order]
    counts = np.bincount(acc, minlength=n)
    start = np.concatenate(([0], np.cumsum(counts)[:-1]))
    has = counts > 0
    lo = start[has] + (counts[has] - 1) // 2
    hi = start[has] + counts[has] // 2
    out[has] = (val[lo] + val[hi]) / 2
    return out


def _rhythm(arrays: PostArrays) -> tuple[np.ndarray, np.ndarray]:
    """Per account: post count and coefficient of variation of the gaps between its posts."""
    n = arrays.n_accounts
    # By (account, time, post) with one int64 sort: the account above each post's rank in (time, post) order.
    by_time = TimeOrder.of(arrays.time)
    m = max(arrays.n_posts, 1)
    key = np.sort(arrays.account * m + by_time.rank)
    acc, t = key // m, arrays.time[by_time.by_time[key % m]]
    counts = np.bincount(acc, minlength=n)
    same = acc[1:] == acc[:-1]
    gaps, gacc = np.diff(t)[same], acc[1:][same]
    k = np.bincount(gacc, minlength=n).astype(float)
    s1 = np.bincount(gacc, weights=gaps, minlength=n)
    s2 = np.bincount(gacc, weights=gaps * gaps, minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = s1 / k
        std = np.sqrt(np.maximum(s2 / k - mean * mean, 0))
        cv = np.where(mean > 0, std / mean, np.inf)
    return counts, cv


def score(arrays: PostArrays, kept: list[KeptEdges], groups: list[np.ndarray], params: EngineParams) -> Scores:
    """Combine edge strength, breadth, behaviours, synchrony, content and account signals into scores."""
    n = arrays.n_accounts
    total_w = np.zeros(n)
    surprise = np.zeros(n)
    partners: list[np.ndarray] = []
    n_beh = np.zeros(n, dtype=np.int64)
    lead = np.zeros(n, dtype=np.int64)
    follow = np.zeros(n, dtype=np.int64)
    dt_acc, dt_val = [], []
    content_posts: list[np.ndarray] = []
    behaviours_of: list[list[str]] = [[] for _ in range(n)]
    for k in kept:
        if len(k.a) == 0:
            continue
        np.add.at(total_w, k.a, k.weight)
        np.add.at(total_w, k.b, k.weight)
        edge_surprise = np.minimum(-np.log10(np.maximum(k.p_value, 1e-300)), MAX_SURPRISE)
        np.add.at(surprise, k.a, edge_surprise)
        np.add.at(surprise, k.b, edge_surprise)
        partners.append(k.a * n + k.b)
        involved = np.unique(np.concatenate([k.a, k.b]))
        n_beh[involved] += 1
        for i in involved.tolist():
            behaviours_of[i].append(k.behaviour)
        np.add.at(lead, k.a, k.first_a)
        np.add.at(lead, k.b, k.first_b)
        np.add.at(follow, k.a, k.first_b)
        np.add.at(follow, k.b, k.first_a)
        absdt = np.abs(arrays.time[k.pair_post_b] - arrays.time[k.pair_post_a])
        dt_acc += [arrays.account[k.pair_post_a], arrays.account[k.pair_post_b]]
        dt_val += [absdt, absdt]
        if k.behaviour in TEXT_BEHAVIOURS:
            content_posts += [k.pair_post_a, k.pair_post_b]
    pair_keys = np.unique(np.concatenate(partners)) if partners else np.zeros(0, np.int64)
    n_partners = np.bincount(pair_keys // n, minlength=n) + np.bincount(pair_keys % n, minlength=n)
    median_dt = _per_account_median(
        np.concatenate(dt_acc) if dt_acc else np.zeros(0, np.int64),
        np.concatenate(dt_val) if dt_val else np.zeros(0),
        n,
    )
    post_counts, cv = _rhythm(arrays)
    copied = np.zeros(n)
    if content_posts:
        posts = np.unique(np.concatenate(content_posts))
        copied = np.bincount(arrays.account[posts], minlength=n) / np.maximum(post_counts, 1)

    account_group = np.zeros(n, dtype=np.int64)
    for gid, members in enumerate(groups, start=1):
        account_group[members] = gid
    burst = _creation_bursts(arrays, groups)
    handle_hit = _handle_pattern(arrays)
    rhythm_hit = (post_counts >= RHYTHM_MIN_POSTS) & (cv < RHYTHM_MAX_CV)

    window = max(params.window_s, 1e-9)
    signals = {
        "strength": 1 - np.exp(-surprise / STRENGTH_SCALE),
        "breadth": 1 - np.exp(-n_partners / BREADTH_SCALE),
        "behaviours": np.minimum(n_beh / 3, 1.0),
        "synchrony": np.where(np.isnan(median_dt), 0.0, np.clip(1 - np.nan_to_num(median_dt) / window, 0, 1)),
        "content": np.clip(copied, 0, 1),
        "account": (burst.astype(float) + handle_hit + rhythm_hit) / 3,
    }
    account_score = sum(WEIGHTS[name] * value for name, value in signals.items())
    account_score = np.round(np.clip(account_score, 0, 1), 6)

    how = "beyond chance" if params.min_weight is None else f"at least {params.min_weight} times"
    reasons: list[str] = []
    for i in range(n):
        parts = []
        if n_partners[i]:
            parts.append(f"co-acts {how} with {int(n_partners[i])} accounts in {', '.join(behaviours_of[i])}")
            parts.append(f"kept edge weight {int(total_w[i])}")
            parts.append(f"median lag {median_dt[i]:g} s")
            if lead[i] + follow[i]:
                parts.append(
                    f"acts first in {100 * lead[i] / (lead[i] + follow[i]):.0f}% of {lead[i] + follow[i]} co-actions"
                )
        if copied[i] > 0:
            parts.append(f"{100 * copied[i]:.0f}% of posts repeat a partner's content")
        if burst[i]:
            parts.append("created within days of other group members")
        if handle_hit[i]:
            parts.append("handle is a name followed by digits")
        if rhythm_hit[i]:
            parts.append(f"posts at a regular rhythm (gap CV {cv[i]:.2f})")
        reasons.append("; ".join(parts))

    n_groups = len(groups)
    inside = np.zeros(n_groups + 1, dtype=np.int64)
    group_behaviours: list[list[str]] = [[] for _ in range(n_groups + 1)]
    for k in kept:
        ga, gb = account_group[k.a], account_group[k.b]
        same = (ga == gb) & (ga > 0)
        inside += np.bincount(ga[same], minlength=n_groups + 1)
        for g in np.unique(ga[same]).tolist():
            group_behaviours[g].append(k.behaviour)
    group_score, group_reasons, group_leader = [], [], []
    for gid, members in enumerate(groups, start=1):
        size = len(members)
        behaviours = group_behaviours[gid]
        possible = size * (size - 1) / 2 * max(1, len(behaviours))
        density = min(1.0, inside[gid] / possible) if possible else 0.0
        mean_score = float(account_score[members].mean())
        group_score.append(round(min(1.0, 0.7 * mean_score + 0.3 * density), 6))
        net = lead[members] - follow[members]
        leader = int(members[int(np.argmax(net))]) if net.max() > 0 else -1
        group_leader.append(leader)
        parts = [f"{size} accounts", f"behaviours: {', '.join(behaviours)}", f"edge density {density:.2f}"]
        parts.append(f"mean member score {mean_score:.2f}")
        if leader >= 0:
            parts.append(f"leader acts first in {int(lead[leader])} of {int(lead[leader] + follow[leader])} co-actions")
        group_reasons.append("; ".join(parts))
    return Scores(
        account_score=account_score,
        account_reasons=reasons,
        account_group=account_group,
        lead=lead,
        follow=follow,
        group_score=group_score,
        group_reasons=group_reasons,
        group_leader=group_leader,
    )


def _creation_bursts(arrays: PostArrays, groups: list[np.ndarray]) -> np.ndarray:
    """Accounts created within CREATION_BURST_DAYS of at least CREATION_BURST_MIN other group members."""
    out = np.zeros(arrays.n_accounts, dtype=bool)
    if not arrays.accounts:
        return out
    created = np.full(arrays.n_accounts, np.nan)
    for i, key in enumerate(arrays.account_keys):
        rec = arrays.accounts.get(key)
        if rec is not None and rec.created_at is not None:
            created[i] = rec.created_at.timestamp()
    span = CREATION_BURST_DAYS * 86400
    for members in groups:
        known = members[~np.isnan(created[members])]
        c = np.sort(created[known])
        if len(c) <= CREATION_BURST_MIN:
            continue
        near = np.searchsorted(c, created[known] + span, "right") - np.searchsorted(c, created[known] - span, "left")
        out[known] = near - 1 >= max(CREATION_BURST_MIN, CREATION_BURST_SHARE * (len(members) - 1))
    return out


def _handle_pattern(arrays: PostArrays) -> np.ndarray:
    out = np.zeros(arrays.n_accounts, dtype=bool)
    for i, key in enumerate(arrays.account_keys):
        rec = arrays.accounts.get(key)
        handle = (rec.handle if rec is not None and rec.handle else arrays.handles.get(key, "")).lstrip("@")
        out[i] = bool(handle) and bool(HANDLE_PATTERN.match(handle))
    return out
