"""The coordination engine: pure numpy/scipy/networkx, never Django or Celery.

Typical use: ``run(posts, accounts, EngineParams())``; distributed: ``shard_edges`` per shard, then ``finalise``.
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
