"""Labelled seeds, so that the classifier works before the first verdict: groups the engine finds in generated
samples, labelled by the generator's truth (planted: inauthentic; decoys and organic noise: benign).

Pure (generator, engine, features): the same seeds for the same code, on any machine.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from detection.engine.api import EngineResult, run
from detection.engine.arrays import SEP
from detection.engine.synthetic import Sample, generate
from detection.learning.features import group_features

# (seed, planted group size, posts per member): samples that differ in how big and how busy the planted groups are.
SEED_SAMPLES = ((101, 15, 30), (102, 10, 20), (103, 25, 40))
SEED_POSTS = 30_000
SEED_DECOYS = 12
SEED_GROUP_SHARE = 0.15


@dataclass
class Labelled:
    """Feature rows of a run's groups, their labels (1 planted, 0 benign) and what each group is in the truth."""

    x: np.ndarray
    y: np.ndarray
    kind: list[str]  # "planted", a decoy kind, or "organic"


def label_groups(sample: Sample, result: EngineResult) -> tuple[np.ndarray, list[str]]:
    """Each group labelled by what most of its members are in the generator's truth."""
    what = dict.fromkeys(sample.planted, "planted")
    what.update({a: d.kind for d in sample.decoys for a in d.members})
    ids = [key.split(SEP, 1)[1] for key in result.arrays.account_keys]
    kinds = []
    for members in result.groups:
        names, counts = np.unique([what.get(ids[m], "organic") for m in members.tolist()], return_counts=True)
        kinds.append(str(names[int(np.argmax(counts))]))
    return np.array([k == "planted" for k in kinds], dtype=int), kinds


def labelled_sample(sample: Sample) -> Labelled:
    result = run(sample.posts, sample.accounts)
    y, kinds = label_groups(sample, result)
    return Labelled(group_features(result), y, kinds)


@functools.cache
def seed_training_set() -> Labelled:
    """The seeds of every SEED_SAMPLES sample, stacked (computed once per process: a few seconds)."""
    parts = [
        labelled_sample(
            generate(
                SEED_POSTS,
                seed=seed,
                decoys=SEED_DECOYS,
                group_share=SEED_GROUP_SHARE,
                group_size=size,
                posts_per_member=per_member,
            )
        )  # fmt: skip
        for seed, size, per_member in SEED_SAMPLES
    ]
    return Labelled(
        np.vstack([p.x for p in parts]), np.concatenate([p.y for p in parts]), [k for p in parts for k in p.kind]
    )
