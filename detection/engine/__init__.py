"""The coordination engine: pure numpy/scipy/networkx, never Django or Celery.

One machine: ``run(posts, accounts, EngineParams())`` returns an ``EngineResult``; ``write_outputs`` writes
edges.csv, evidence.csv, groups.csv, accounts.csv and summary.json. Several workers: ``build_arrays`` once,
``shard_edges(arrays, params, shard, n_shards)`` per shard (objects are split by ``shard_of``, a BLAKE2b hash
of the shared object, so every co-action pair lies in exactly one shard), then
``finalise(partials, arrays, params)``, which gives byte-identical output to ``run`` for any shard count.

Edges are kept by significance (see ``significance``: a random-mixing null model with Benjamini-Hochberg
control) unless ``min_weight`` asks for the peers' fixed minimum weight. Accounts are flagged when their
score reaches ``flag_threshold`` (0.5 by default): the coordination signals (significant edges, partners,
behaviours, synchrony, copied content) make 90% of the score and account signals 10%, so an account is never
flagged without edges that chance cannot explain.
"""

from detection.engine.api import BehaviourEdges, EngineResult, finalise, run
from detection.engine.arrays import PostArrays, build_arrays
from detection.engine.output import render, write_outputs
from detection.engine.params import BEHAVIOURS, ENGINE_VERSION, EngineParams
from detection.engine.shards import PartialEdges, shard_edges, shard_of

__all__ = [
    "BEHAVIOURS",
    "ENGINE_VERSION",
    "BehaviourEdges",
    "EngineParams",
    "EngineResult",
    "PartialEdges",
    "PostArrays",
    "build_arrays",
    "finalise",
    "render",
    "run",
    "shard_edges",
    "shard_of",
    "write_outputs",
]
