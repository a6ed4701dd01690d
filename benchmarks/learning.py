"""The classifier of groups on generated samples with decoys: does it learn from verdicts, and how fast is it.

    python benchmarks/learning.py [--pool-samples 6] [--test-samples 3] [--draws 3]

1. What the engine's significance alone does with decoys (benign coordinated groups): it finds them as groups.
2. Learning curve: the classifier trained on the labelled seeds (detection.learning.seeds) plus 0, 10, 50 and 200
   simulated verdicts (groups of other generated samples, labelled by the generator's truth, drawn at random),
   measured on groups of held-out samples. The evaluation samples are made harder than the seeds in two ways the
   seeds never show: half the planted groups use aged accounts with ordinary handles (bought accounts), the other
   half keep a cover life (posts of their own beside the coordinated ones), and each newsroom registered its
   syndication accounts within two days. Precision and recall are group-level: a group
   found by the engine is positive when most of its members were planted.
3. Training (with calibration, no cross-validation) and prediction time on 10,000 groups, resampled from the
   generated ones, and the time to compute features per group.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from detection.engine import run  # noqa: E402
from detection.engine.records import PostRecord  # noqa: E402
from detection.engine.synthetic import FIRST_NAMES, WORDS, Sample, generate  # noqa: E402
from detection.learning import classifier  # noqa: E402
from detection.learning.features import FEATURE_NAMES, group_features  # noqa: E402
from detection.learning.seeds import label_groups, seed_training_set  # noqa: E402

POSTS = 30_000
DECOYS = 15
VERDICT_WEIGHT = 3.0  # as detection.learning.services


def disguised(sample: Sample, seed: int) -> Sample:
    """Half the planted groups on aged, ordinary-looking accounts; syndication accounts registered together."""
    rng = np.random.default_rng(seed)
    aged = {a for g in sample.groups[::2] for a in g}
    newsroom_day = {}
    for d in sample.decoys:
        if d.kind == "syndication":
            day = datetime(2020, 1, 1, tzinfo=UTC) + timedelta(days=int(rng.integers(0, 1500)))
            newsroom_day.update(dict.fromkeys(d.members, day))
    accounts = []
    for rec in sample.accounts:
        if rec.account_id in aged:
            name = f"{FIRST_NAMES[int(rng.integers(0, len(FIRST_NAMES)))]}_{WORDS[int(rng.integers(0, 40))]}"
            born = rec.created_at - timedelta(days=float(rng.uniform(300, 3000)))
            rec = replace(rec, handle=name, created_at=born)
        elif rec.account_id in newsroom_day:
            rec = replace(rec, created_at=newsroom_day[rec.account_id] + timedelta(hours=float(rng.uniform(0, 48))))
        accounts.append(rec)
    return Sample(posts=sample.posts + cover_posts(sample, rng), accounts=accounts, groups=sample.groups,
                  decoys=sample.decoys)  # fmt: skip


def cover_posts(sample: Sample, rng: np.random.Generator) -> list[PostRecord]:
    """A cover life for the accounts of every other planted group (the odd ones): 20 to 60 posts of their own each,
    texts and reshares spread over the day, so that coordination is no longer all they do."""
    t0 = min(p.created_at for p in sample.posts)
    posts = []
    for members in sample.groups[1::2]:
        for aid in members:
            for k in range(int(rng.integers(20, 61))):
                when = t0 + timedelta(seconds=float(rng.uniform(0, 86400)))
                pid = f"cover-{aid}-{k}"
                if rng.random() < 0.4:
                    target = f"o{int(rng.integers(0, 2000)):07d}"
                    posts.append(PostRecord(platform="x", post_id=pid, account_id=aid, created_at=when,
                                            reshare_of=target))  # fmt: skip
                else:
                    words = " ".join(WORDS[int(i)] for i in rng.integers(0, 40, int(rng.integers(6, 14))))
                    posts.append(PostRecord(platform="x", post_id=pid, account_id=aid, created_at=when,
                                            text=f"{words} {int(rng.integers(0, 10**9))}"))  # fmt: skip
    return posts


def labelled(seed: int, size: int, per_member: int):
    sample = disguised(
        generate(POSTS, seed=seed, decoys=DECOYS, group_share=0.15, group_size=size, posts_per_member=per_member),
        seed,
    )
    result = run(sample.posts, sample.accounts)
    started = time.perf_counter()
    x = group_features(result)
    features_s = time.perf_counter() - started
    y, kinds = label_groups(sample, result)
    return sample, result, x, y, kinds, features_s


def sample_shape(i: int) -> tuple[int, int]:
    return (10, 15, 20, 25)[i % 4], (20, 30, 40)[i % 3]


def engine_alone(test) -> None:
    print("1. The engine's significance alone on the evaluation samples")
    found = {"planted": 0, "syndication": 0, "fan-burst": 0, "official": 0, "organic": 0}
    decoy_accounts = grouped_decoy_accounts = flagged_decoy_accounts = planted_groups = 0
    for sample, result, _, _, kinds, _ in test:
        for k in kinds:
            found[k] += 1
        ids = [key.split("\x1f", 1)[1] for key in result.arrays.account_keys]
        in_group = {ids[i] for m in result.groups for i in m.tolist()}
        decoy_accounts += len(sample.decoy_accounts)
        grouped_decoy_accounts += len(sample.decoy_accounts & in_group)
        flagged_decoy_accounts += len(sample.decoy_accounts & {ids[i] for i in np.flatnonzero(result.flagged)})
        planted_groups += len(sample.groups)
    decoys = sum(len(s.decoys) for s, *_ in test)
    print(f"   groups found, by what most members are: {found}")
    print(f"   {planted_groups} planted groups and {decoys} decoys generated; "
          f"{grouped_decoy_accounts}/{decoy_accounts} decoy accounts end up in a coordinated group, "
          f"{flagged_decoy_accounts} of them flagged (account score >= 0.5)")  # fmt: skip
    y = np.concatenate([t[3] for t in test])
    print(f"   every group flagged as coordinated: group-level precision {y.mean():.3f}, recall 1.000\n")


def precision_recall(y: np.ndarray, p: np.ndarray, threshold: float = classifier.THRESHOLD) -> tuple[float, float]:
    hit = p >= threshold
    tp = int((hit & (y == 1)).sum())
    return tp / max(int(hit.sum()), 1), tp / max(int((y == 1).sum()), 1)


def best_precision_at_recall(y: np.ndarray, p: np.ndarray, recall: float = 0.9) -> float:
    best = 0.0
    for t in np.unique(p):
        prec, rec = precision_recall(y, p, t)
        if rec >= recall:
            best = max(best, prec)
    return best


def learning_curve(pool, test, draws: int) -> None:
    seeds = seed_training_set()
    x_pool = np.vstack([t[2] for t in pool])
    y_pool = np.concatenate([t[3] for t in pool])
    x_test = np.vstack([t[2] for t in test])
    y_test = np.concatenate([t[3] for t in test])
    print(f"2. Learning curve: {len(seeds.y)} seed groups ({int(seeds.y.sum())} planted); verdict pool "
          f"{len(y_pool)} groups ({int(y_pool.sum())} planted); evaluation {len(y_test)} groups "
          f"({int(y_test.sum())} planted); {draws} random draws of verdicts")  # fmt: skip
    print("   verdicts  precision@0.5  recall@0.5  precision@recall>=0.9  (mean over draws; min in brackets)")
    for seeded in (True, False):
        print("   seeds and verdicts" if seeded else "   verdicts alone, without the seeds")
        for n in (0, 10, 50, 200) if seeded else (10, 50, 200):
            rows = []
            for draw in range(draws if n else 1):
                pick = np.random.default_rng(draw).permutation(len(y_pool))[: min(n, len(y_pool))]
                x = np.vstack([seeds.x, x_pool[pick]]) if seeded else x_pool[pick]
                y = np.concatenate([seeds.y, y_pool[pick]]) if seeded else y_pool[pick]
                w = np.concatenate([np.ones(len(seeds.y) if seeded else 0), np.full(len(pick), VERDICT_WEIGHT)])
                if np.bincount(y, minlength=2).min() < 2:
                    continue  # too few of one label to train on
                p = classifier.predict_proba(classifier.fit(x, y, w), x_test)
                rows.append((*precision_recall(y_test, p), best_precision_at_recall(y_test, p)))
            if not rows:
                print(f"   {n:8d}  (no draw had two groups of each label)")
                continue
            r = np.array(rows)
            print(f"   {n:8d}  {r[:, 0].mean():13.3f}  {r[:, 1].mean():10.3f}  {r[:, 2].mean():21.3f}"
                  f"   [{r[:, 0].min():.3f} {r[:, 1].min():.3f} {r[:, 2].min():.3f}]  {len(rows)} draws")  # fmt: skip
    coef = classifier.coefficients(classifier.fit(seeds.x, seeds.y))
    top = np.argsort(-np.abs(coef))[:6]
    print("   seed model's largest coefficients (scaled features; + towards inauthentic): "
          + ", ".join(f"{FEATURE_NAMES[i]} {coef[i]:+.2f}" for i in top))  # fmt: skip
    print()


def timing(pool, test) -> None:
    x_all = np.vstack([t[2] for t in pool + test])
    y_all = np.concatenate([t[3] for t in pool + test])
    rng = np.random.default_rng(0)
    pick = rng.integers(0, len(y_all), 10_000)
    x = x_all[pick] + rng.normal(0, 0.01, (10_000, len(FEATURE_NAMES)))
    y = y_all[pick]
    started = time.perf_counter()
    model = classifier.fit(x, y)
    trained = time.perf_counter()
    p = classifier.predict_proba(model, x)
    classifier.top_features(model, x, FEATURE_NAMES)
    done = time.perf_counter()
    cv_started = time.perf_counter()
    classifier.cross_validate(x, y)
    cv_s = time.perf_counter() - cv_started
    n_groups = sum(len(t[1].groups) for t in pool + test)
    features_s = sum(t[5] for t in pool + test)
    print("3. Time on 10,000 groups (resampled from the generated ones)")
    print(f"   training {trained - started:.2f} s, prediction with top features {done - trained:.2f} s, "
          f"together {done - started:.2f} s; 5-fold cross-validation (as retraining does) {cv_s:.2f} s")  # fmt: skip
    print(f"   features: {features_s:.2f} s for {n_groups} groups of {len(pool + test)} runs "
          f"({1000 * features_s / max(n_groups, 1):.2f} ms per group, most of it per run, not per group)")  # fmt: skip
    print(f"   mean probability {p.mean():.3f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pool-samples", type=int, default=6)
    parser.add_argument("--test-samples", type=int, default=3)
    parser.add_argument("--draws", type=int, default=3)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    pool = [labelled(11 + i, *sample_shape(i)) for i in range(args.pool_samples)]
    test = [labelled(31 + i, *sample_shape(i + 1)) for i in range(args.test_samples)]
    print(f"generated and scored {len(pool) + len(test)} samples of {POSTS} posts with {DECOYS} decoys each "
          f"in {time.perf_counter() - started:.1f} s\n")  # fmt: skip
    engine_alone(test)
    learning_curve(pool, test, args.draws)
    timing(pool, test)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
