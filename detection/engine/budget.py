"""Budgets a run is checked against before the work they bound starts: co-action pairs, and the reduce's memory.

A run's memory and time grow with the post pairs its sweeps build: up to about 1 KB a pair when every pair is
an edge of its own (min_weight=1 on one popular object), so 5,000 posts sharing one URL over a week (25 million
pairs, co-link and co-domain) need some 23 GB. The count is exact and costs a sort per behaviour.

On workers, the one step whose memory grows with the whole sample is the reduce (parts and shards grow with
their own part and shard): ``reduce_memory_mb`` estimates its peak from the posts and the pairs.
"""

from __future__ import annotations

from detection.engine.arrays import PostArrays
from detection.engine.coaction import pair_counts
from detection.engine.params import EngineParams

DEFAULT_MAX_PAIRS = 10_000_000  # about 10 GB at the worst case of 1 KB a pair


class RunRefused(ValueError):
    """A run over one of its budgets, refused before the work the budget bounds; the message says what to change."""


class BudgetExceeded(RunRefused):
    """A run would build more co-action pairs than its budget: the counts, the limit and what to change."""

    def __init__(
        self, pairs: dict[str, int], limit: int, params: EngineParams, limit_name: str, at_least: bool = False
    ) -> None:
        self.pairs = pairs
        self.limit = limit
        self.limit_name = limit_name
        self.leave_out = behaviours_to_leave_out(pairs, limit)
        total = sum(pairs.values())
        biggest = ", ".join(f"{b} {n:,}" for b, n in sorted(pairs.items(), key=_largest_first) if n)
        change = f"shorten window_s (now {params.window_s:g} s)"
        if self.leave_out:
            change += f" or leave {' and '.join(self.leave_out)} out of behaviours"
        super().__init__(
            f"This run would build {'at least ' if at_least else ''}{total:,} co-action pairs ({biggest}), more "
            f"than the limit of {limit:,} ({limit_name}): {change}."
        )


# The reduce's peak resident memory, that of its larger step, the select (the shards' matches it merges, each
# post's account): a worker's child before it reads anything, then per post and per co-action pair, fitted on
# benchmarks/scale_out.py's measuring worker. Measured against estimated: 999,434 posts and 7,992,289 pairs in
# 8 shards, the select 738 MB (the final 497) against 741; 9,995,533 posts over a week and 103,845,252 pairs in
# 64 shards, the select 6,686 MB (the final 2,494) against 6,716. Posts and pairs grow together in both samples,
# so the split between the two terms is loose; the sum fits both.
REDUCE_BASE_MB = 175.0
REDUCE_MB_PER_POST = 270e-6
REDUCE_MB_PER_PAIR = 37e-6


def reduce_memory_mb(n_posts: int, n_pairs: int) -> float:
    """The reduce's estimated peak resident memory in MB, for a sample of n_posts posts whose sweeps build
    n_pairs co-action pairs."""
    return REDUCE_BASE_MB + REDUCE_MB_PER_POST * n_posts + REDUCE_MB_PER_PAIR * n_pairs


class MemoryBudgetExceeded(RunRefused):
    """A run's reduce would need more memory than a worker may use: the estimate, the limit and what to change."""

    def __init__(self, n_posts: int, n_pairs: int, limit_mb: int, limit_name: str, at_least: bool = False) -> None:
        self.limit = limit_mb
        self.limit_name = limit_name
        self.needed_mb = reduce_memory_mb(n_posts, n_pairs)
        super().__init__(
            f"This run's reduce would need {'at least ' if at_least else ''}about {self.needed_mb:,.0f} MB of memory "
            f"({n_posts:,} posts, {n_pairs:,} co-action pairs), more than the {limit_mb:,} MB a worker may use "
            f"({limit_name}): score a shorter period of the sample, or give the workers more memory and raise "
            f"{limit_name}.",
        )


def reduce_budget_check(n_posts: int, n_pairs: int, limit_mb: int, limit_name: str, at_least: bool = False) -> None:
    """MemoryBudgetExceeded when the reduce of n_posts posts and n_pairs pairs would need more than limit_mb."""
    if reduce_memory_mb(n_posts, n_pairs) > limit_mb:
        raise MemoryBudgetExceeded(n_posts, n_pairs, limit_mb, limit_name, at_least)


def behaviours_to_leave_out(pairs: dict[str, int], limit: int) -> list[str]:
    """The fewest behaviours, largest first, whose leaving out brings the pairs within the limit."""
    total = sum(pairs.values())
    out = []
    for behaviour, n in sorted(pairs.items(), key=_largest_first):
        if total <= limit:
            break
        out.append(behaviour)
        total -= n
    return out if total <= limit and len(out) < len(pairs) else []


def _largest_first(item: tuple[str, int]) -> tuple[int, str]:
    return -item[1], item[0]


def pair_budget_check(
    arrays: PostArrays, params: EngineParams, max_pairs: int, limit_name: str = "max_pairs"
) -> dict[str, int]:
    """The pairs each behaviour of the run would build; BudgetExceeded when they add up to more than max_pairs."""
    pairs = pair_counts(arrays, params)
    if sum(pairs.values()) > max_pairs:
        raise BudgetExceeded(pairs, max_pairs, params, limit_name)
    return pairs
