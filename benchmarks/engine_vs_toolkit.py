"""Side by side: the engine and coordination-network-toolkit 1.5.2 on the same inputs, in the same run.

    python benchmarks/engine_vs_toolkit.py                 # the real datasets of DOMAIN.md (parity table)
    python benchmarks/engine_vs_toolkit.py --synthetic 100000 --behaviours co-reshare,co-link,same-text

Installs the toolkit into benchmarks/.peers/cnt-venv (git-ignored) with pip and runs it in a subprocess with
an explicit time window; its edges are exported with output_gephi_csv (its CSV export crashes in 1.5.2).
Each tool runs in its own process so that peak memory is its own. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

PEERS = REPO / "benchmarks" / ".peers"
VENV = PEERS / "cnt-venv"
TOOLKIT = "coordination-network-toolkit==1.5.2"
SHARED_DATA = Path(os.environ.get("SHARED_DATA", REPO / ".." / "shared" / "data")).resolve()

# Engine behaviour -> (toolkit command, which post field the toolkit sees as its "urls").
TOOLKIT_COMMAND = {
    "co-reshare": ("co_retweet", None),
    "co-reply": ("co_reply", None),
    "co-link": ("co_link", "normalised_urls"),
    "co-domain": ("co_link", "domains"),
    "co-hashtag": ("co_link", "hashtags"),
    "co-mention": ("co_link", "mentions"),
    "same-media": ("co_link", "media_hashes"),
    "same-text": ("co_tweet", None),
    "similar-text": ("co_similar_tweet", None),
}

DRIVER = r"""
import json, resource, sys, time
from coordination_network_toolkit import compute_networks as cn
from coordination_network_toolkit.output import output_gephi_csv
from coordination_network_toolkit.preprocess import preprocess_data

rows_path, db, command, window, min_weight, out = sys.argv[1:7]
window, min_weight = float(window), int(min_weight)
start = time.perf_counter()
with open(rows_path, encoding="utf-8") as f:
    rows = [json.loads(line) for line in f]
preprocess_data(db, rows)
loaded = time.perf_counter()
if command == "co_retweet":
    cn.compute_co_retweet_parallel(db, window, n_threads=2, min_edge_weight=min_weight)
elif command == "co_link":
    cn.compute_co_link_network(db, window, n_threads=2, min_edge_weight=min_weight)
elif command == "co_reply":
    cn.compute_co_reply_network(db, window, n_threads=2, min_edge_weight=min_weight)
elif command == "co_tweet":
    cn.compute_co_tweet_network(db, window, n_threads=2, min_edge_weight=min_weight)
elif command == "co_similar_tweet":
    cn.compute_co_similar_tweet(db, window, n_threads=2, min_edge_weight=min_weight)
done = time.perf_counter()
output_gephi_csv(db, command, out)
# VmHWM, not ru_maxrss: the latter keeps the benchmark's own peak across exec. Pool workers are forked
# from this process and report through RUSAGE_CHILDREN.
hwm = [int(x.split()[1]) for x in open("/proc/self/status") if x.startswith("VmHWM:")][0]
peak = max(hwm, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
print("RESULT " + json.dumps({"load_s": loaded - start, "compute_s": done - loaded, "peak_mb": peak / 1024}))
"""


@dataclass
class Case:
    """One comparison: a sample, a behaviour, a window and the peers' minimum weight."""

    label: str
    path: Path
    behaviour: str
    window: float
    min_weight: int = 2


def ensure_toolkit() -> Path:
    """The toolkit's interpreter, installing it with pip into its own virtual environment when missing."""
    python = VENV / "bin" / "python"
    probe = [str(python), "-c", "import coordination_network_toolkit"]
    if python.exists() and subprocess.run(probe, capture_output=True).returncode == 0:
        return python
    PEERS.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", TOOLKIT], check=True)
    return python


def toolkit_rows(path: Path, behaviour: str, out: Path) -> int:
    """Write the sample as the toolkit's input rows (file order, as a researcher would load it)."""
    from detection.engine.readers import read_sample
    from detection.engine.records import PostRecord

    _, field = TOOLKIT_COMMAND[behaviour]
    n = 0
    with out.open("w", encoding="utf-8") as f:
        for r in read_sample(path):
            if not isinstance(r, PostRecord):
                continue
            ts = r.created_at.timestamp()
            objects = list(getattr(r, field)) if field else []
            if field == "normalised_urls" and not objects:
                objects = list(r.urls)
            # An empty list, never [""]: the toolkit's own CSV loader turns an empty cell into one empty URL.
            row = [r.post_id, r.account_id, r.handle, r.reshare_of, r.reply_to, r.text, ts, objects]
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
            n += 1
    return n


def run_toolkit(
    python: Path, case: Case, workdir: Path, timeout: float | None = None
) -> tuple[dict, set[frozenset[str]] | None]:
    """Run the toolkit on one case in a subprocess; its figures and its undirected edge set (None: timed out)."""
    rows = workdir / f"{case.label}-{case.behaviour}.jsonl"
    toolkit_rows(case.path, case.behaviour, rows)
    db = workdir / f"{case.label}-{case.behaviour}-{case.window:g}.db"
    out = workdir / f"{case.label}-{case.behaviour}-{case.window:g}.csv"
    command = TOOLKIT_COMMAND[case.behaviour][0]
    started = time.perf_counter()
    # Its own session, so that a timeout ends the toolkit's worker processes too, not only its parent.
    proc = subprocess.Popen(
        [str(python), "-c", DRIVER, str(rows), str(db), command, str(case.window), str(case.min_weight), str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return {"load_s": 0.0, "compute_s": float(timeout or 0), "peak_mb": float("nan"), "timed_out": True}, None
    if proc.returncode:
        raise RuntimeError(f"the toolkit failed on {case.label} {case.behaviour}: {stderr[-2000:]}")
    wall = time.perf_counter() - started
    figures = json.loads(stdout.rsplit("RESULT ", 1)[1])
    figures["wall_s"] = wall
    with out.open(encoding="utf-8") as f:
        edges = {frozenset((row["source"], row["target"])) for row in csv.DictReader(f)}
    return figures, edges


def run_engine(path: Path, behaviours: list[str], window: float, min_weight: int) -> tuple[dict, dict]:
    """Run the engine in a subprocess (reading the file included); figures and edge sets per behaviour."""
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, __file__, "--engine-one", str(path), ",".join(behaviours), str(window), str(min_weight)],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    )
    wall = time.perf_counter() - started
    figures = json.loads(proc.stdout.rsplit("RESULT ", 1)[1])
    edges = {b: {frozenset(pair) for pair in pairs} for b, pairs in figures.pop("edges").items()}
    figures["wall_s"] = wall
    return figures, edges


def engine_one(path: str, behaviours: str, window: str, min_weight: str) -> None:
    """Inside the engine's subprocess: read, build, compute each behaviour's edges, print figures and edges.

    Times, per behaviour: `edges` = what the toolkit's compute command does on its loaded database, i.e.
    the co-action edges from the loaded arrays (the window sweep, the directed weights, the significance
    test and the kept edges); `evidence` = what only the engine computes on top (the post pairs of every
    kept edge, lead/follow and lags). Shared by all behaviours: `read` (the file into records) and
    `arrays` (records into the engine's arrays, like the toolkit's rows into SQLite). `run_s` is a whole
    run (every behaviour, evidence, groups and scores) on the arrays already built.
    """
    from benchmarks.engine_scale import peak_rss_mb
    from detection.engine import EngineParams, build_arrays, run, shard_edges
    from detection.engine.api import select_edges_of
    from detection.engine.arrays import SEP
    from detection.engine.coaction import match_codec
    from detection.engine.evidence import edge_details
    from detection.engine.readers import read_sample
    from detection.engine.records import AccountRecord, PostRecord

    names = tuple(behaviours.split(","))
    params = EngineParams(behaviours=names, window_s=float(window), min_weight=int(min_weight))
    start = time.perf_counter()
    posts, accounts = [], []
    for r in read_sample(path):
        if isinstance(r, PostRecord):
            posts.append(r)
        elif isinstance(r, AccountRecord):
            accounts.append(r)
    read = time.perf_counter()
    arrays = build_arrays(posts, accounts, params)
    del posts
    built = time.perf_counter()
    keys = arrays.account_keys
    per_behaviour, edges = {}, {}
    for name in params.behaviours:
        one = EngineParams(behaviours=(name,), window_s=params.window_s, min_weight=params.min_weight)
        t0 = time.perf_counter()
        activity = {name: arrays.objects[name].activity} if name in arrays.objects else {}
        width = match_codec(arrays, with_rank=False).width
        partials = [shard_edges(arrays, one)]
        selected = select_edges_of(partials, arrays.account, arrays.n_accounts, width, activity, one)[name]
        a, b = selected.a, selected.b
        t1 = time.perf_counter()
        edge_details(arrays, name, one, a, b)
        t2 = time.perf_counter()
        per_behaviour[name] = {"edges_s": t1 - t0, "evidence_s": t2 - t1}
        edges[name] = [
            (keys[x].split(SEP, 1)[1], keys[y].split(SEP, 1)[1]) for x, y in zip(a.tolist(), b.tolist(), strict=True)
        ]
    computed = time.perf_counter()
    run(arrays, params=params)
    done = time.perf_counter()
    figures = {
        "read_s": read - start,
        "arrays_s": built - read,
        "load_s": built - start,
        "compute_s": sum(x["edges_s"] for x in per_behaviour.values()),
        "evidence_s": sum(x["evidence_s"] for x in per_behaviour.values()),
        "behaviours": per_behaviour,
        "edges_loop_s": computed - built,
        "run_s": done - computed,
    }
    print("RESULT " + json.dumps({**figures, "peak_mb": peak_rss_mb(), "edges": edges}))


def real_cases() -> list[Case]:
    russian = SHARED_DATA / "coortweet" / "russian_coord_tweets.csv"
    german = SHARED_DATA / "coortweet" / "german_elections.csv"
    return [
        Case("russian", russian, "co-reshare", 60),
        Case("russian", russian, "co-reshare", 10),
        Case("german", german, "co-link", 30),
        Case("german", german, "co-domain", 30),
        Case("german", german, "co-hashtag", 30),
        Case("german", german, "same-media", 30),
    ]


def accounts_of(edges: set[frozenset[str]]) -> int:
    return len({a for e in edges for a in e})


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--engine-one":
        engine_one(*argv[1:5])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--synthetic", type=int, default=0, help="also compare on a generated sample of N posts")
    parser.add_argument("--behaviours", default="co-reshare,co-link,co-hashtag,same-text")
    parser.add_argument("--window", type=float, default=60)
    parser.add_argument("--min-weight", type=int, default=2)
    parser.add_argument("--no-real", action="store_true", help="skip the real datasets")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds before a toolkit run is cut short")
    args = parser.parse_args(argv)
    python = ensure_toolkit()
    cases = [] if args.no_real else real_cases()
    with tempfile.TemporaryDirectory(prefix="cnt-bench-") as tmp:
        workdir = Path(tmp)
        sample_path = None
        if args.synthetic:
            sample_path = workdir / f"synthetic-{args.synthetic}.csv"
            # In a child process, so that this one stays small: memory figures of later children start here.
            generator = [sys.executable, str(REPO / "benchmarks" / "generate_sample.py")]
            subprocess.run([*generator, "--posts", str(args.synthetic), "--seed", "1", "--out", str(sample_path)],
                           check=True, capture_output=True)  # fmt: skip
            for b in args.behaviours.split(","):
                cases.append(Case(f"synthetic-{args.synthetic}", sample_path, b.strip(), args.window, args.min_weight))
        print(
            f"{'data':<17} {'behaviour':<12} {'win':>3} {'toolkit e/a':>12} {'engine e/a':>12} {'same':>4} "
            f"{'tk load':>7} {'tk run':>7} {'en read':>7} {'en arr':>6} {'en edges':>8} {'en evid':>7} "
            f"{'x run':>6} {'x all':>6} {'tk MB':>6} {'en MB':>6}"
        )
        tk_runs: list[float] = []
        tk_loads: list[float] = []
        for case in cases:
            if not case.path.is_file():
                print(f"{case.label}: {case.path} is missing, skipped")
                continue
            tk, tk_edges = run_toolkit(python, case, workdir, args.timeout)
            en, en_edges_by = run_engine(case.path, [case.behaviour], case.window, case.min_weight)
            en_edges = en_edges_by[case.behaviour]
            tk_runs.append(tk["compute_s"])
            tk_loads.append(tk["load_s"])
            tk_total, en_total = tk["load_s"] + tk["compute_s"], en["load_s"] + en["compute_s"]
            late = ">" if tk.get("timed_out") else " "
            same = "-" if tk_edges is None else ("yes" if tk_edges == en_edges else "NO")
            tk_count = "timed out" if tk_edges is None else f"{len(tk_edges)}/{accounts_of(tk_edges)}"
            print(
                f"{case.label:<17} {case.behaviour:<12} {case.window:>3g} {tk_count:>12} "
                f"{len(en_edges):>6}/{accounts_of(en_edges):<5} {same:>4} "
                f"{tk['load_s']:>7.2f} {late}{tk['compute_s']:>6.2f} "
                f"{en['read_s']:>7.2f} {en['arrays_s']:>6.2f} {en['compute_s']:>8.3f} {en['evidence_s']:>7.3f} "
                f"{tk['compute_s'] / max(en['compute_s'], 1e-9):>6.1f} "
                f"{tk_total / max(en_total, 1e-9):>6.1f} {tk['peak_mb']:>6.0f} {en['peak_mb']:>6.0f}"
            )
            if tk_edges is not None and tk_edges != en_edges:
                print(f"    only toolkit: {len(tk_edges - en_edges)}, only engine: {len(en_edges - tk_edges)}")
            sys.stdout.flush()
        if sample_path is not None and tk_runs:
            behaviours = [b.strip() for b in args.behaviours.split(",")]
            en, _ = run_engine(sample_path, behaviours, args.window, args.min_weight)
            tk_total = max(tk_loads) + sum(tk_runs)
            en_total = en["load_s"] + en["run_s"]
            print(
                f"all behaviours at once on synthetic-{args.synthetic}: toolkit >= {tk_total:.1f} s (one load, "
                f"the runs summed), engine {en_total:.1f} s (read {en['read_s']:.1f} s, arrays "
                f"{en['arrays_s']:.1f} s, edges {en['compute_s']:.2f} s, evidence {en['evidence_s']:.2f} s; full "
                f"run with evidence, groups and scores {en['run_s']:.1f} s, peak {en['peak_mb']:.0f} MB): "
                f"{tk_total / max(en_total, 1e-9):.1f} x; compute only: toolkit {sum(tk_runs):.1f} s, engine "
                f"edges {en['compute_s']:.2f} s: {sum(tk_runs) / max(en['compute_s'], 1e-9):.1f} x"
            )
    print(
        "tk load = rows into SQLite; tk run = its compute command for the behaviour on the loaded database. "
        "en read = read_sample; en arr = build_arrays; en edges = that behaviour's co-action edges from the "
        "arrays (window sweep, directed weights, significance, kept edges); en evid = the post pairs, lead/follow "
        "and lags of the kept edges (engine only, not in x run). x run = tk run / en edges; x all = (tk load + "
        "tk run) / (en read + en arr + en edges). '>' = cut short at --timeout"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
