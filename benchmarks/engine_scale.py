"""One dense day at scale: end-to-end time, peak memory, and precision/recall against the planted groups.

    python benchmarks/engine_scale.py --posts 1000000 [--seed 1] [--keep DIR]

Generates a sample (5% of posts from planted groups of 25 accounts acting within 20 s), writes it as
canonical CSV, then, in a fresh process, reads it, runs every behaviour (near-duplicate text included),
finds groups, scores accounts and writes the outputs. Also shows what the peers' fixed minimum weight would
flag on the same edges. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def measure(sample: Path, accounts: Path, out: Path, min_weight: int) -> None:
    """Inside the measured process: read, score, write; print stage times (wall and this process's CPU: on a
    shared machine the gap is time spent waiting for a core), peak RSS and the flagged set."""
    from detection.engine import EngineParams, build_arrays, run, write_outputs
    from detection.engine.arrays import SEP
    from detection.engine.readers import read_sample
    from detection.engine.records import AccountRecord, PostRecord

    stages, cpu = {}, {}
    start, start_cpu = time.perf_counter(), time.process_time()

    def stage(name: str, t: float, c: float) -> tuple[float, float]:
        now, now_cpu = time.perf_counter(), time.process_time()
        stages[name], cpu[name] = now - t, now_cpu - c
        return now, now_cpu

    t, c = start, start_cpu
    posts = [r for r in read_sample(sample) if isinstance(r, PostRecord)]
    account_records = [r for r in read_sample(accounts) if isinstance(r, AccountRecord)]
    t, c = stage("read", t, c)
    params = EngineParams()
    arrays = build_arrays(posts, account_records, params)
    del posts
    t, c = stage("arrays", t, c)
    result = run(arrays, params=params)
    t, c = stage("edges+groups+scores", t, c)
    write_outputs(result, out)
    stage("write", t, c)
    stage("total", start, start_cpu)
    keys = arrays.account_keys
    flagged = [keys[i].split(SEP, 1)[1] for i in result.flagged.nonzero()[0].tolist()]
    peak_mb = peak_rss_mb()
    # What a fixed minimum weight (the peers' rule) keeps on the same sample: every account in an edge.
    fixed_params = EngineParams(min_weight=min_weight, behaviours=("co-reshare", "co-link", "co-hashtag", "same-text"))
    fixed = run(arrays, params=fixed_params)
    in_edges = set()
    for e in fixed.edges.values():
        in_edges.update(e.a.tolist())
        in_edges.update(e.b.tolist())
    fixed_accounts = [keys[i].split(SEP, 1)[1] for i in sorted(in_edges)]
    summary = {
        "stages": stages,
        "cpu": cpu,
        "peak_mb": peak_mb,
        "flagged": flagged,
        "fixed": fixed_accounts,
        "posts": arrays.n_posts,
        "accounts": arrays.n_accounts,
        "groups": len(result.groups),
        "behaviours": result.summary["behaviours"],
    }
    print("RESULT " + json.dumps(summary))


def peak_rss_mb() -> float:
    """This process's own peak RSS (VmHWM); ru_maxrss would include the parent's peak, kept across exec."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def precision_recall(found: set[str], truth: set[str]) -> tuple[float, float]:
    hit = len(found & truth)
    return hit / max(len(found), 1), hit / max(len(truth), 1)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--measure":
        measure(Path(argv[1]), Path(argv[2]), Path(argv[3]), int(argv[4]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--span", type=float, default=86400.0)
    parser.add_argument("--min-weight", type=int, default=2, help="the peers' fixed minimum weight, for comparison")
    parser.add_argument("--keep", type=Path, default=None, help="keep the sample and outputs in this directory")
    args = parser.parse_args(argv)

    from benchmarks.generate_sample import generate, write_sample

    with tempfile.TemporaryDirectory(prefix="engine-scale-") as tmp:
        work = args.keep or Path(tmp)
        t = time.perf_counter()
        sample = generate(args.posts, seed=args.seed, span_s=args.span)
        sample_path, accounts_path, _ = write_sample(sample, work / "sample.csv")
        truth = sample.planted
        print(
            f"generated {len(sample.posts)} posts, {len(sample.groups)} planted groups "
            f"in {time.perf_counter() - t:.1f} s"
        )
        del sample
        proc = subprocess.run(
            [sys.executable, __file__, "--measure", str(sample_path), str(accounts_path), str(work / "out"),
             str(args.min_weight)],
            capture_output=True, text=True, check=True, cwd=REPO,
        )  # fmt: skip
        r = json.loads(proc.stdout.rsplit("RESULT ", 1)[1])
    print(f"{r['posts']} posts, {r['accounts']} accounts, {r['groups']} groups")
    for name, seconds in r["stages"].items():
        print(f"  {name:<22} {seconds:7.1f} s  (CPU {r['cpu'][name]:.1f} s)")
    print(f"  peak RSS               {r['peak_mb']:7.0f} MB")
    for name, b in r["behaviours"].items():
        print(
            f"  {name:<14} pairs {b['coaction_pairs']:>10}  candidates {b['candidate_edges']:>9}  kept {b['edges']:>6}"
        )
    p, rec = precision_recall(set(r["flagged"]), truth)
    print(f"engine flagged {len(r['flagged'])}: precision {p:.3f}, recall {rec:.3f} (planted {len(truth)})")
    p, rec = precision_recall(set(r["fixed"]), truth)
    print(
        f"fixed min weight {args.min_weight} (accounts in any edge): {len(r['fixed'])}, "
        f"precision {p:.3f}, recall {rec:.3f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
