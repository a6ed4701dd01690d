"""The sweep of one hot shard: its peak resident memory and its time, for one or more checkouts of the engine.

    .venv/bin/python benchmarks/sweep_memory.py [--posts 10000000] [--shards 64] [--repeat 2]
        [--engine /path/to/another/checkout ...]

Builds the co-reshare actions of the hottest shard of a sample like `scale_out.py --posts 10000000 --chunks 10
--span-days 7 --shards 64` makes: reshares of Zipf-popular objects (exponent 1.1, as `synthetic.generate`) by
accounts of heavy-tailed activity (exponent 0.8), uniform over the span; the hottest shard holds the most
reshared object and one in `shards` of the others. Then, in a fresh process per checkout and repeat (checkouts
alternating), it loads those actions and runs `coaction.actions_matched_keys` on them, and prints the sweep's
peak (VmHWM above the resident memory before it), its seconds (wall and CPU), the size of its output, and a
digest of the output (match keys, crowd and pair count), which must be the same for every checkout. Prints
figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def hot_shard(posts: int, accounts: int, objects: int, shards: int, span_s: float, seed: int) -> dict[str, np.ndarray]:
    """The co-reshare actions of the hottest shard, sorted by (object, time, post), as `Actions` fields."""
    rng = np.random.default_rng(seed)
    n_reshares = int(posts * 0.45)
    popularity = 1.0 / np.arange(1, objects + 1) ** 1.1
    per_object = rng.poisson(n_reshares * popularity[::shards] / popularity.sum())
    n = int(per_object.sum())
    obj = np.repeat(np.arange(len(per_object), dtype=np.int64), per_object)
    activity = 1.0 / np.arange(1, accounts + 1) ** 0.8
    account = rng.choice(accounts, size=n, p=activity / activity.sum()).astype(np.int64)
    time = rng.uniform(0, span_s, n)
    post = rng.choice(posts, size=n, replace=False).astype(np.int64)
    order = np.lexsort((post, time, obj))
    return {"obj": obj[order], "post": post[order], "account": account[order], "time": time[order]}


MEASURE = """
import hashlib, json, resource, sys, time
import numpy as np
sys.path.insert(0, sys.argv[1])
from detection.engine.coaction import Actions, actions_matched_keys
from detection.engine.params import EngineParams

def status(field):
    return [int(x.split()[1]) for x in open("/proc/self/status") if x.startswith(field)][0] / 1024

with np.load(sys.argv[2]) as data:
    fields = {name: data[name] for name in data.files}
n_accounts, width = int(fields.pop("n_accounts")), int(fields.pop("width"))
actions = Actions(**fields, number=fields["post"])
params = EngineParams(behaviours=("co-reshare",), window_s=float(sys.argv[3]), chunk_pairs=int(sys.argv[4]))
before = status("VmRSS:")
wall, cpu = time.perf_counter(), time.process_time()
keys, crowd, n_pairs = actions_matched_keys(actions, "co-reshare", params, n_accounts, width)
wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
peak = status("VmHWM:")
digest = hashlib.sha256(keys)
digest.update(crowd)
digest.update(str(n_pairs).encode())
print("RESULT " + json.dumps({"before_mb": before, "peak_mb": peak, "wall_s": wall, "cpu_s": cpu,
                              "keys": len(keys), "keys_mb": keys.nbytes / 2**20, "n_pairs": n_pairs,
                              "digest": digest.hexdigest()[:16]}))
"""


def measure(engine: Path, actions: Path, window_s: float, chunk_pairs: int) -> dict:
    """One sweep in a fresh process importing the engine of that checkout."""
    out = subprocess.run(
        [sys.executable, "-c", MEASURE, str(engine), str(actions), str(window_s), str(chunk_pairs)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(next(line for line in out.splitlines() if line.startswith("RESULT "))[7:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--posts", type=int, default=10_000_000, help="posts in the whole sample")
    parser.add_argument("--accounts", type=int, default=119_750)
    parser.add_argument("--objects", type=int, default=250_000, help="reshared objects in the whole sample")
    parser.add_argument("--shards", type=int, default=64)
    parser.add_argument("--span-days", type=float, default=7.0)
    parser.add_argument("--window", type=float, default=60.0)
    parser.add_argument("--chunk-pairs", type=int, default=4_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument(
        "--engine", type=Path, action="append", help="a checkout whose engine to measure (repeatable); default this one"
    )
    args = parser.parse_args()
    engines = args.engine or [REPO]
    data = hot_shard(args.posts, args.accounts, args.objects, args.shards, args.span_days * 86400, args.seed)
    n_actions, n_objects = len(data["obj"]), int(data["obj"][-1]) + 1
    print(f"hot shard: {n_actions:,} actions on {n_objects:,} objects ({args.posts:,} posts, {args.shards} shards)")
    with tempfile.TemporaryDirectory() as tmp:
        actions = Path(tmp) / "actions.npz"
        np.savez(actions, **data, n_accounts=np.array(args.accounts), width=np.array(args.posts))
        del data
        runs: dict[Path, list[dict]] = {engine: [] for engine in engines}
        for _ in range(args.repeat):
            for engine in engines:
                runs[engine].append(measure(engine, actions, args.window, args.chunk_pairs))
    print("| engine | output keys | output MB | sweep peak MB (above its input) | wall s | CPU s | digest |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for engine, results in runs.items():
        first = results[0]
        peaks = "/".join(f"{r['peak_mb'] - r['before_mb']:,.0f}" for r in results)
        walls = "/".join(f"{r['wall_s']:.2f}" for r in results)
        cpus = "/".join(f"{r['cpu_s']:.2f}" for r in results)
        digests = ",".join(sorted({r["digest"] for r in results}))
        print(f"| {engine} | {first['keys']:,} | {first['keys_mb']:,.0f} | {peaks} | {walls} | {cpus} | {digests} |")
    print(f"co-action pairs of different accounts: {first['n_pairs']:,}")


if __name__ == "__main__":
    main()
