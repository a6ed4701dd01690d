"""Scale-out: score one sample of N posts with 1 and with 2 Celery worker processes, and with the engine alone.

Imports a generated sample (planted groups, Zipf-popular objects) into a fresh PostgreSQL database, then:
the engine alone in one process (reading the sample from the database included), and a scoring run through
real Celery workers against Redis, with 1 and then 2 worker processes. Prints wall times, the speed-up, the
overhead of the distributed path against the engine alone, and whether the three results are identical.
Then memory: one more run on a worker that forks a fresh child for every task and logs each child's peak
resident memory (VmHWM), so that prepare, each shard and the reduce are measured apart, against the peak of
the engine alone. It prints figures; it asserts nothing.

    .venv/bin/python benchmarks/scale_out.py [--posts 1000000] [--shards 8]
        [--database-url postgres://postgres@127.0.0.1:5432/tracker_scale] [--broker redis://127.0.0.1:6379/12]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from statistics import median

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.generate_sample import generate, write_sample  # noqa: E402
from benchmarks.import_bench import fresh_database, measured  # noqa: E402

ENGINE_ALONE = """
import time, django, json, resource
django.setup()
from detection import selectors
from detection.engine import EngineParams, run
from detection.models import Sample
started = time.perf_counter()
contents = selectors.sample_contents(sample_id=Sample.objects.get(name="scale").pk)
read = time.perf_counter() - started
result = run(contents.posts, contents.accounts, EngineParams())
total = time.perf_counter() - started
print("RESULT " + json.dumps({"read_s": read, "total_s": total, "hash": selectors.engine_result_fingerprint(result),
                              "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

RUN_STATE = """
import django, json, sys
django.setup()
from detection.models import ScoringRun
run = ScoringRun.objects.get(pk=int(sys.argv[1]))
wall = (run.finished_at - run.created_at).total_seconds() if run.finished_at else None
print("RESULT " + json.dumps({"status": run.status, "wall_s": wall, "hash": run.result_hash, "timings": run.timings,
                              "error": run.error}))
"""


# A worker whose every task runs in a freshly forked child, which logs its resident memory at the start and its
# peak (VmHWM: the fork's copy of the parent's pages included, hence the start figure) when the task ends.
MEASURING_WORKER = """
import json, sys, time
from celery.signals import task_postrun, task_prerun
from tracker.celery import app

def memory_mb(field):
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(field)) / 1024

started = {}

@task_prerun.connect
def begin(task_id=None, **_):
    started[task_id] = (time.perf_counter(), memory_mb("VmRSS:"))

@task_postrun.connect
def end(task_id=None, task=None, args=None, **_):
    begun, start_mb = started.pop(task_id)
    line = {"task": task.name.rsplit(".", 1)[-1], "args": list(args or ()), "s": time.perf_counter() - begun,
            "start_mb": start_mb, "peak_mb": memory_mb("VmHWM:")}
    with open(sys.argv[1], "a") as log:
        log.write(json.dumps(line) + "\\n")

app.worker_main(["worker", "--concurrency", "1", "--max-tasks-per-child", "1", "--loglevel", "WARNING",
                 "--without-gossip", "--without-mingle", "-n", "measure@%h"])
"""


START = datetime(2024, 1, 13, tzinfo=UTC)


def python_result(code: str, env: dict, *args: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code, *args], cwd=REPO, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"child failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.rsplit("RESULT ", 1)[1])


def cpu_ticks() -> tuple[int, int]:
    """(stolen, all) CPU ticks of the machine so far (/proc/stat): time the hypervisor gave other machines while this
    one's processes were ready to run. It makes runs on a shared host vary; each round prints its share."""
    try:
        with open("/proc/stat") as stat:
            ticks = [int(value) for value in stat.readline().split()[1:9]]
    except OSError:
        return 0, 0
    return ticks[7], sum(ticks)


def with_steal(steal: dict, name: str, run, *args, **kwargs):
    """run(*args, **kwargs), noting in steal[name] the share of the machine's CPU time stolen while it ran."""
    stolen, total = cpu_ticks()
    out = run(*args, **kwargs)
    stolen_after, total_after = cpu_ticks()
    steal[name] = (stolen_after - stolen) / max(total_after - total, 1)
    return out


def round_line(rounds: dict | list[dict], pick=None) -> str:
    """Wall times and ratios of one round, or with `pick` (a median) of each figure over several: each ratio is
    taken within its round, where both runs shared the machine's state, then picked."""
    rounds = [rounds] if isinstance(rounds, dict) else rounds
    pick = pick or (lambda values: values[0])
    figures = {
        "engine alone": [r["engine"]["total_s"] for r in rounds if r["engine"]],
        "1 worker": [r["one"]["wall_s"] for r in rounds if r["one"] and r["one"]["wall_s"]],
        "2 workers": [r["two"]["wall_s"] for r in rounds if r["two"] and r["two"]["wall_s"]],
    }
    line = [f"{name} {pick(values):.1f} s" for name, values in figures.items() if values]
    ratios = {
        "1 worker / engine": [r["one"]["wall_s"] / r["engine"]["total_s"] for r in rounds if r["one"] and r["engine"]],
        "2 workers' speed-up": [r["one"]["wall_s"] / r["two"]["wall_s"] for r in rounds if r["one"] and r["two"]],
    }
    line += [f"{name} {pick(values):.2f}x" for name, values in ratios.items() if values]
    if len(rounds) > 1:
        speed_ups = ", ".join(f"{value:.2f}" for value in ratios["2 workers' speed-up"])
        line.append(f"(speed-ups {speed_ups})")
    return ", ".join(line)


def engines_at_once(env: dict) -> list[dict]:
    """Two engine-alone runs at the same time: what this machine gives two processes of this very work (the
    database's reads included), against one alone. The 2-worker speed-up cannot beat 2 x alone / the slower of
    the two, whatever the distributed path does."""
    children = [
        subprocess.Popen([sys.executable, "-c", ENGINE_ALONE], cwd=REPO, env=env, stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [child.communicate()[0] for child in children]
    if any(child.returncode for child in children):
        raise SystemExit("an engine run of the pair failed")
    return [json.loads(out.rsplit("RESULT ", 1)[1]) for out in outputs]


STEPS = (
    ("plan", "plan"),
    ("parts", "prepare parts (sum over tasks)"),
    ("prepare", "prepare (wall)"),
    ("assemble", "shards assembling (sum)"),
    ("shards", "shards sweeping (sum)"),
    ("select", "reduce: select"),
    ("evidence", "reduce: shards' evidence (sum)"),
    ("final_gather", "reduce: final gather"),
    ("final_describe", "reduce: final describe + groups + scores"),
    ("final_store", "reduce: final store"),
    ("reduce", "reduce (wall)"),
)


def steps_line(timings: dict) -> str:
    """Each step's time a run recorded, in the order they run (those it did not record left out)."""
    return ", ".join(f"{label} {timings[key]:.1f} s" for key, label in STEPS if key in timings)


def scored_with_workers(n_workers: int, shards: int, env: dict, memory_log: Path | None = None, parts: int = 0) -> dict:
    """A run through n worker processes; with memory_log, through one measuring worker (MEASURING_WORKER)."""
    import redis

    redis.Redis.from_url(env["CELERY_BROKER_URL"]).flushdb()
    worker = [sys.executable, "-m", "celery", "-A", "tracker", "worker", "--concurrency", "1", "--loglevel", "WARNING"]
    worker += ["--without-gossip", "--without-mingle"]
    commands = [[*worker, "-n", f"scale{i}@%h"] for i in range(n_workers)]
    if memory_log is not None:
        commands = [[sys.executable, "-c", MEASURING_WORKER, str(memory_log)]]
    workers = [
        subprocess.Popen(
            command, cwd=REPO, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        for command in commands
    ]
    try:
        out = subprocess.run(
            [sys.executable, "manage.py", "score_sample", "scale", "--shards", str(shards), "--no-wait"]
            + (["--parts", str(parts)] if parts else []),
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        run_id = out.stderr.split("Run ", 1)[1].split()[0]
        run_ended(env["DATABASE_URL"], int(run_id))
        return python_result(RUN_STATE, env, run_id)
    finally:
        for worker in workers:
            os.killpg(worker.pid, signal.SIGTERM)
        for worker in workers:
            try:
                worker.wait(timeout=60)
            except subprocess.TimeoutExpired:  # busy with a task that follows the run (its narratives)
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait()


def run_ended(database_url: str, run_id: int) -> None:
    """Wait for the run to end, asking the database on one connection: a Python child started every second to
    ask (Django set up in each) took about half a core, which the workers of a 2-worker run needed."""
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as conn:
        while True:
            status = conn.execute("SELECT status FROM detection_scoringrun WHERE id = %s", [run_id]).fetchone()[0]
            if status in ("done", "failed"):
                return
            time.sleep(0.5)


SAMPLE_POSTS = """
import django, json
django.setup()
from detection.models import Sample
sample = Sample.objects.filter(name="scale").first()
print("RESULT " + json.dumps(sample.posts.count() if sample else None))
"""


def sample_posts(env: dict) -> int | None:
    """The posts of the database's sample "scale", None when it has none (or no tables yet)."""
    try:
        return python_result(SAMPLE_POSTS, env)
    except SystemExit:
        return None


def sample_create(n_posts: int, env: dict, database_url: str, chunks: int = 1, span_days: float = 1.0) -> None:
    """A fresh database holding one generated sample of about n_posts posts over span_days, named "scale".

    With chunks > 1 the sample is generated and imported in that many pieces, one after the other in time and
    each from its own seed (post ids prefixed by the piece, accounts shared), so that no process ever holds more
    than one piece: that is how a 10M-post week is made on one machine.
    """
    fresh_database(database_url)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=REPO, env=env, check=True)
    span_s = span_days * 86400 / chunks
    for chunk in range(chunks):
        with tempfile.TemporaryDirectory() as folder:
            started = time.perf_counter()
            sample = generate(
                n_posts // chunks, seed=11 + chunk, span_s=span_s, start=START + timedelta(seconds=chunk * span_s)
            )
            if chunks > 1:
                sample.posts = [replace(post, post_id=f"w{chunk}-{post.post_id}") for post in sample.posts]
            posts_path, accounts_path = write_sample(sample, Path(folder) / "scale.csv")[:2]
            print(f"generated {len(sample.posts):,} posts in {time.perf_counter() - started:.1f} s")
            del sample  # a forked child's peak memory would count the parent's
            for path in (posts_path, accounts_path):
                seconds, peak, output = measured(
                    [sys.executable, "manage.py", "import_sample", str(path), "--name", "scale", "--no-progress"], env
                )
                last = output.strip().splitlines()[-1]
                print(f"imported {path.name} in {seconds:.1f} s (peak {peak:.0f} MB): {last}")
    vacuum_analyze(database_url)


def vacuum_analyze(database_url: str) -> None:
    """What autovacuum does in a deployment some time after an import: the planner's statistics and the visibility
    map (index-only scans) that the parts' reads rely on. Done here at once, so that every run measures the same
    database whether or not autovacuum runs on the benchmark's server (it is off on some)."""
    import psycopg

    started = time.perf_counter()
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    print(f"VACUUM ANALYZE in {time.perf_counter() - started:.1f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--shards", type=int, default=8)
    parser.add_argument("--parts", type=int, default=0, help="prepare parts (0: one per shard)")
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/tracker_scale")
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/12")
    parser.add_argument(
        "--reuse-database", action="store_true", help="score the sample already in the database, if there is one"
    )
    parser.add_argument("--span-days", type=float, default=1.0, help="days the sample's posts spread over")
    parser.add_argument(
        "--max-pairs", type=int, default=0, help="SCORING_MAX_PAIRS for the runs (0: the setting's default)"
    )
    parser.add_argument("--chunks", type=int, default=1, help="generate and import the sample in this many pieces")
    parser.add_argument(
        "--rounds", type=int, default=1, help="repeat the engine, pair, one and two runs; print each and the medians"
    )
    parser.add_argument(
        "--runs",
        default="engine,pair,one,two,memory",
        help="which to run, of: engine (alone), pair (two engines at once: the machine's ceiling for two processes),"
        " one and two (worker processes), memory (a fresh child per task)",
    )
    args = parser.parse_args(argv)

    env = {
        **os.environ,
        "DATABASE_URL": args.database_url,
        "CELERY_BROKER_URL": args.broker,
        "CELERY_RESULT_BACKEND": args.broker,
        "DJANGO_ENV": "local",
        "DJANGO_SETTINGS_MODULE": "tracker.settings",
    }
    if args.max_pairs:
        env["SCORING_MAX_PAIRS"] = str(args.max_pairs)
    if args.reuse_database and sample_posts(env) is not None:
        subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=REPO, env=env, check=True)
        print(f"reusing the sample of {sample_posts(env):,} posts in {args.database_url}")
    else:
        sample_create(args.posts, env, args.database_url, args.chunks, args.span_days)
    runs = set(args.runs.split(","))
    rounds = []
    for number in range(1, args.rounds + 1):
        steal = {}
        alone = with_steal(steal, "engine", python_result, ENGINE_ALONE, env) if "engine" in runs else None
        pair = engines_at_once(env) if "pair" in runs else None
        one = (
            with_steal(steal, "1 worker", scored_with_workers, 1, args.shards, env, parts=args.parts)
            if "one" in runs
            else None
        )
        two = (
            with_steal(steal, "2 workers", scored_with_workers, 2, args.shards, env, parts=args.parts)
            if "two" in runs
            else None
        )
        rounds.append({"engine": alone, "one": one, "two": two})
        if steal:
            stolen = ", ".join(f"{name} {share:.0%}" for name, share in steal.items())
            print(f"round {number}: {round_line(rounds[-1])}; CPU time stolen by the hypervisor: {stolen}", flush=True)
    measured_run, tasks = None, []
    if "memory" in runs:
        with tempfile.TemporaryDirectory() as folder:
            memory_log = Path(folder) / "tasks.jsonl"
            measured_run = scored_with_workers(1, args.shards, env, memory_log, parts=args.parts)
            tasks = [json.loads(line) for line in memory_log.read_text().splitlines()]
    print()
    print(f"{'path':<40} {'wall s':>8}")
    if alone:
        print(
            f"{'engine alone (read from the database)':<40} {alone['total_s']:>8.1f}   (read {alone['read_s']:.1f} s)"
        )
    for label, state in (
        (f"1 worker process, {args.shards} shards", one),
        (f"2 worker processes, {args.shards} shards", two),
        (f"1 measuring worker, {args.shards} shards", measured_run),
    ):
        if state:
            print(f"{label:<40} {state['wall_s'] or float('nan'):>8.1f}   {state['status']} {state['error'][:200]}")
            print(f"{'':<40} steps: {steps_line(state['timings'])}")
    if one and two and one["wall_s"] and two["wall_s"]:
        print(f"speed-up 2 workers / 1 worker: {one['wall_s'] / two['wall_s']:.2f}x")
    if one and alone and one["wall_s"]:
        print(f"1 worker against the engine alone: {one['wall_s'] / alone['total_s']:.2f}x")
    if pair and alone:
        times = [run["total_s"] for run in pair]
        print(
            f"two engines at once: {times[0]:.1f} and {times[1]:.1f} s, against {alone['total_s']:.1f} s alone: this"
            f" machine gives two processes {2 * alone['total_s'] / max(times):.2f}x the work of one"
        )
    hashes = {"measuring worker": measured_run["hash"]} if measured_run else {}
    for number, paths in enumerate(rounds, 1):
        hashes |= {f"{name}, round {number}": state["hash"] for name, state in paths.items() if state}
    same = len(set(hashes.values())) == 1
    print(f"identical results (every run of every round, each path, and the measuring worker): {same}")
    if args.rounds > 1:
        print(f"median of {args.rounds} rounds (the details above are the last round's): {round_line(rounds, median)}")
    if measured_run:
        print()
        print(f"peak resident memory, MB (a fresh child per task; {measured_run['status']} {measured_run['timings']})")
        if alone:
            print(f"{'engine alone (one process)':<40} {alone['peak_mb']:>8.0f}")
        by_step = {name: [t for t in tasks if t["task"] == name] for name in ("score_prepare", "score_part")}
        by_step["score_shard"] = [t for t in tasks if t["task"] == "score_shard"]
        reduces = [t for t in tasks if t["task"] == "score_reduce"]
        if reduces:  # the first selects the kept edges, the last is the final step
            by_step |= {"score_reduce (select)": reduces[:1], "score_reduce (final)": reduces[-1:]}
        for name, steps in by_step.items():
            if not steps:
                continue
            peaks = [t["peak_mb"] for t in steps]
            label = name if len(steps) == 1 else f"{name} (max of {len(steps)}, mean {sum(peaks) / len(peaks):.0f})"
            start = max(t["start_mb"] for t in steps)
            seconds = sum(t["s"] for t in steps)
            print(f"{label:<40} {max(peaks):>8.0f}   (child at start {start:.0f} MB; {seconds:.1f} s in all)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
