"""The coordination engine: pure numpy/scipy/networkx, never Django or Celery.

One machine: ``run(posts, accounts, EngineParams())`` returns an ``EngineResult``; ``write_outputs`` writes
edges.csv, evidence.csv, groups.csv, accounts.csv and summary.json. Several workers: ``build_arrays`` once,
``shard_edges(arrays, params, shard, n_shards)`` per shard (objects are split by ``shard_of``, a BLAKE2b hash
of the shared object, so every co-action pair lies in exactly one shard), then
``finalise(partials, arrays, params)``, which gives byte-identical output to ``run`` for any shard count.
Workers that should not hold the sample: ``partition_common`` and ``partition_shards`` split the arrays by shard
into plain arrays (written with ``save_npz``, read with ``load_npz``, never pickled);
``shard_edges_from_partition(common, partition, params)`` gives the same partial edges from one shard's arrays
alone, and ``arrays_from_finalise(common, finalise_arrays(arrays))`` what finalise reads of the sample.
``pair_budget_check(arrays, params, max_pairs)`` counts the co-action pairs a run would build, without building
them, and raises ``BudgetExceeded`` past the limit (``run(..., max_pairs=...)`` does so first).

Edges are kept by significance (see ``significance``: a random-mixing null model with Benjamini-Hochberg
control) unless ``min_weight`` asks for the peers' fixed minimum weight. Accounts are flagged when their
score reaches ``flag_threshold`` (0.5 by default): the coordination signals (significant edges, partners,
behaviours, synchrony, copied content) make 90% of the score and account signals 10%, so an account is never
flagged without edges that chance cannot explain.
"""

import importlib
from typing import Any

# Loaded on first use (PEP 562), so that a process needing only the readers (the import's reading process)
# does not pay for numpy, scipy and networkx.
_EXPORTS = {
    "BehaviourEdges": "api",
    "EngineResult": "api",
    "finalise": "api",
    "run": "api",
    "PostArrays": "arrays",
    "build_arrays": "arrays",
    "BudgetExceeded": "budget",
    "DEFAULT_MAX_PAIRS": "budget",
    "MemoryBudgetExceeded": "budget",
    "RunRefused": "budget",
    "reduce_budget_check": "budget",
    "pair_budget_check": "budget",
    "arrays_from_finalise": "partition",
    "finalise_arrays": "partition",
    "load_npz": "partition",
    "partition_common": "partition",
    "partition_shards": "partition",
    "save_npz": "partition",
    "shard_edges_from_partition": "partition",
    "render": "output",
    "write_outputs": "output",
    "BEHAVIOURS": "params",
    "ENGINE_VERSION": "params",
    "EngineParams": "params",
    "PartialEdges": "shards",
    "shard_edges": "shards",
    "shard_of": "shards",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
