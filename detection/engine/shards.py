"""Shards by a stable hash of the shared object, so that every co-action pair lies in exactly one shard."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from detection.engine.arrays import ObjectTable, PostArrays
from detection.engine.coaction import match_codec, matched_keys
from detection.engine.params import ENGINE_VERSION, EngineParams


def key_digests(keys: Iterable[str]) -> np.ndarray:
    """Per object key, a 128-bit BLAKE2b digest of its UTF-8 bytes as two little-endian uint64 columns ((n, 2)).

    What names an object in a part's fragments, and what its shard is derived from (``digest_shards``), so that a
    part hashes each distinct key once. Keys are hashed exactly as they are: two keys differing only in case or in
    Unicode normalisation are two objects, as they are for ``build_arrays``.
    """
    digests = b"".join(hashlib.blake2b(k.encode("utf-8"), digest_size=16).digest() for k in keys)
    return np.frombuffer(digests, dtype="<u8").astype(np.uint64).reshape(-1, 2)


def digest_shards(digests: np.ndarray, n_shards: int) -> np.ndarray:
    """The shard of objects given their key digests: the digest's first 64 bits, modulo the shard count."""
    if n_shards < 1:
        raise ValueError("n_shards must be >= 1")
    return (digests[:, 0] % np.uint64(n_shards)).astype(np.int64)


def shard_of(object_key: str, n_shards: int) -> int:
    """The shard of one object: its key's 128-bit BLAKE2b digest (``key_digests``), first 64 bits modulo the shard
    count (stable across processes, and the shard the parts give it)."""
    return int(digest_shards(key_digests([object_key]), n_shards)[0])


def bucket_shards(buckets: np.ndarray, n_shards: int) -> np.ndarray:
    """The shard of similar-text's LSH buckets, whose keys are already integers: a multiplicative hash, stable
    across processes."""
    if n_shards < 1:
        raise ValueError("n_shards must be >= 1")
    with np.errstate(over="ignore"):
        mixed = (buckets.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(32)
    return (mixed % np.uint64(n_shards)).astype(np.int64)


def object_shards(table: ObjectTable, n_shards: int) -> np.ndarray:
    """The shard of every object of a table: the one a run in parts gives it (``parts.part_fragments``)."""
    if table.bucket_key is not None:
        return bucket_shards(table.bucket_key, n_shards)
    return digest_shards(key_digests(table.keys), n_shards)


@dataclass
class PartialEdges:
    """What one shard contributes: per behaviour, its distinct (post, other account) matches.

    `matched` holds the matches packed by coaction.match_codec, sorted and unique; `crowd` is additive over shards. The
    weights, the null model's expectations, the evidence and the lead/follow counts are all derived from
    these and the arrays in `finalise`, so merging is a set union plus a sum, and any shard count gives
    identical results.
    """

    shard: int
    n_shards: int
    n_accounts: int
    matched: dict[str, np.ndarray] = field(default_factory=dict)
    crowd: dict[str, np.ndarray] = field(default_factory=dict)  # per account: in-window pairs it takes part in
    n_pairs: dict[str, int] = field(default_factory=dict)
    engine_version: str = ENGINE_VERSION

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Plain arrays for numpy.savez (one key per behaviour)."""
        out = {
            "meta": np.array([self.shard, self.n_shards, self.n_accounts], dtype=np.int64),
            "engine_version": np.array(self.engine_version),
        }
        for behaviour, keys in self.matched.items():
            out[f"matched:{behaviour}"] = keys
            out[f"crowd:{behaviour}"] = self.crowd[behaviour]
            out[f"n_pairs:{behaviour}"] = np.array(self.n_pairs[behaviour], dtype=np.int64)
        return out

    @classmethod
    def from_arrays(cls, data: dict[str, np.ndarray]) -> PartialEdges:
        """The inverse of to_arrays (accepts a loaded .npz). The arrays are copied, so that the file's bytes can go
        at once: the select frees the matches one behaviour at a time, which views of those bytes would not allow."""
        shard, n_shards, n_accounts = (int(x) for x in data["meta"])
        part = cls(shard=shard, n_shards=n_shards, n_accounts=n_accounts, engine_version=str(data["engine_version"]))
        for name in data:
            if name.startswith("matched:"):
                behaviour = name.split(":", 1)[1]
                part.matched[behaviour] = np.array(data[name], dtype=np.int64)
                part.crowd[behaviour] = np.array(data[f"crowd:{behaviour}"], dtype=np.int64)
                part.n_pairs[behaviour] = int(data[f"n_pairs:{behaviour}"])
        return part


def shard_edges(arrays: PostArrays, params: EngineParams, shard: int = 0, n_shards: int = 1) -> PartialEdges:
    """Compute the co-action matches of the objects of one shard, for every behaviour of the run."""
    if not 0 <= shard < n_shards:
        raise ValueError(f"shard must be in [0, {n_shards})")
    part = PartialEdges(shard=shard, n_shards=n_shards, n_accounts=arrays.n_accounts)
    codec = match_codec(arrays)
    for behaviour in params.behaviours:
        table = arrays.objects.get(behaviour)
        mask = None
        if n_shards > 1 and table is not None:
            mask = object_shards(table, n_shards) == shard
        keys, crowd, n_pairs = matched_keys(arrays, behaviour, params, codec, object_mask=mask)
        part.matched[behaviour] = keys
        part.crowd[behaviour] = crowd
        part.n_pairs[behaviour] = n_pairs
    return part
