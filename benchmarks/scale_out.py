"""Scale-out: score one sample of N posts with 1 and with 2 Celery worker processes, and with the engine alone.

Imports a generated sample (planted groups, Zipf-popular objects) into a fresh PostgreSQL database, then:
the engine alone in one process (reading the sample from the database included), and a scoring run through
real Celery workers against Redis, with 1 and then 2 worker processes. Prints wall times, the speed-up, the
overhead of the distributed path against the engine alone, and whether the three results are identical.
It prints figures; it asserts nothing.

    .venv/bin/python benchmarks/scale_out.py [--posts 1000000] [--shards 8]
        [--database-url postgres://postgres@127.0.0.1:5432/tracker_scale] [--broker redis://127.0.0.1:6379/12]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.generate_sample import generate, write_sample  # noqa: E402
from benchmarks.import_bench import fresh_database, measured  # noqa: E402

ENGINE_ALONE = """
import time, django, json
django.setup()
from detection import selectors
from detection.engine import EngineParams, run
from detection.models import Sample
started = time.perf_counter()
contents = selectors.sample_contents(sample_id=Sample.objects.get(name="scale").pk)
read = time.perf_counter() - started
result = run(contents.posts, contents.accounts, EngineParams())
total = time.perf_counter() - started
print("RESULT " + json.dumps({"read_s": read, "total_s": total, "hash": selectors.engine_result_fingerprint(result)}))
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


def python_result(code: str, env: dict, *args: str) -> dict:
    import json

    out = subprocess.run([sys.executable, "-c", code, *args], cwd=REPO, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"child failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.rsplit("RESULT ", 1)[1])


def scored_with_workers(n_workers: int, shards: int, env: dict) -> dict:
    import redis

    redis.Redis.from_url(env["CELERY_BROKER_URL"]).flushdb()
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "tracker",
                "worker",
                "--concurrency",
                "1",
                "--loglevel",
                "WARNING",
                "--without-gossip",
                "--without-mingle",
                "-n",
                f"scale{i}@%h",
            ],
            cwd=REPO,
            env=env,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for i in range(n_workers)
    ]
    try:
        out = subprocess.run(
            [sys.executable, "manage.py", "score_sample", "scale", "--shards", str(shards), "--no-wait"],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        run_id = out.stderr.split("Run ", 1)[1].split()[0]
        while True:
            state = python_result(RUN_STATE, env, run_id)
            if state["status"] in ("done", "failed"):
                return state
            time.sleep(1)
    finally:
        for worker in workers:
            os.killpg(worker.pid, signal.SIGTERM)
        for worker in workers:
            worker.wait(timeout=60)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--shards", type=int, default=8)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/tracker_scale")
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/12")
    args = parser.parse_args(argv)

    env = {
        **os.environ,
        "DATABASE_URL": args.database_url,
        "CELERY_BROKER_URL": args.broker,
        "CELERY_RESULT_BACKEND": args.broker,
        "DJANGO_ENV": "local",
        "DJANGO_SETTINGS_MODULE": "tracker.settings",
    }
    fresh_database(args.database_url)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=REPO, env=env, check=True)
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        sample = generate(args.posts, seed=11)
        posts_path, accounts_path = write_sample(sample, Path(folder) / "scale.csv")[:2]
        print(f"generated {len(sample.posts):,} posts in {time.perf_counter() - started:.1f} s")
        del sample  # a forked child's peak memory would count the parent's
        for path in (posts_path, accounts_path):
            seconds, peak, output = measured(
                [sys.executable, "manage.py", "import_sample", str(path), "--name", "scale", "--no-progress"], env
            )
            print(f"imported {path.name} in {seconds:.1f} s (peak {peak:.0f} MB): {output.strip().splitlines()[-1]}")

    alone = python_result(ENGINE_ALONE, env)
    one = scored_with_workers(1, args.shards, env)
    two = scored_with_workers(2, args.shards, env)
    print()
    print(f"{'path':<40} {'wall s':>8}")
    print(f"{'engine alone (read from the database)':<40} {alone['total_s']:>8.1f}   (read {alone['read_s']:.1f} s)")
    for label, state in (
        (f"1 worker process, {args.shards} shards", one),
        (f"2 worker processes, {args.shards} shards", two),
    ):
        print(f"{label:<40} {state['wall_s'] or float('nan'):>8.1f}   {state['status']} {state['timings']}")
    if one["wall_s"] and two["wall_s"]:
        print(f"speed-up 2 workers / 1 worker: {one['wall_s'] / two['wall_s']:.2f}x")
        print(f"overhead of 1 worker against the engine alone: {one['wall_s'] / alone['total_s'] - 1:+.0%}")
    same = alone["hash"] == one["hash"] == two["hash"]
    print(f"identical results (engine alone, 1 worker, 2 workers): {same}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
