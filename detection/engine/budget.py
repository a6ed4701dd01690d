"""A budget on the co-action pairs a run builds, checked from the arrays before any pair is built.

A run's memory and time grow with the post pairs its sweeps build: up to about 1 KB a pair when every pair is
an edge of its own (min_weight=1 on one popular object), so 5,000 posts sharing one URL over a week (25 million
pairs, co-link and co-domain) need some 23 GB. The count is exact and costs a sort per behaviour.
"""

from __future__ import annotations

from detection.engine.arrays import PostArrays
from detection.engine.coaction import pair_counts
from detection.engine.params import EngineParams

DEFAULT_MAX_PAIRS = 10_000_000  # about 10 GB at the worst case of 1 KB a pair


class BudgetExceeded(ValueError):
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
