"""A run's results stored by the ORM writer and by the COPY writer: rows, seconds, rows/s and the ratio, in one run.

Imports a generated sample (planted groups, Zipf-popular objects) into a fresh PostgreSQL database, scores it
once with the engine (as the reduce would: the same result for every store), then stores that result into a
new run with each writer in turn, ORM first, then COPY, then in the reverse order for each further round, each
in its own transaction as the reduce does, and checks that every stored run has the engine's fingerprint. It
prints figures; it asserts nothing.

    .venv/bin/python benchmarks/run_results.py [--posts 300000] [--rounds 2]
        [--database-url postgres://postgres@127.0.0.1:5432/tracker_results_bench]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.generate_sample import generate, write_sample  # noqa: E402
from benchmarks.import_bench import fresh_database, measured  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=300_000)
    parser.add_argument("--rounds", type=int, default=2, help="each round stores the result once with each writer")
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/tracker_results_bench")
    args = parser.parse_args(argv)

    # DEBUG off, as in production: with it on, Django keeps the text of every query it runs.
    env = {**os.environ, "DATABASE_URL": args.database_url, "DJANGO_ENV": "local", "DJANGO_DEBUG": "false"}
    env["DJANGO_SETTINGS_MODULE"] = "tracker.settings"
    env.pop("CELERY_BROKER_URL", None)
    fresh_database(args.database_url)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=REPO, env=env, check=True)
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        sample = generate(args.posts, seed=11)
        paths = write_sample(sample, Path(folder) / "results.csv")[:2]
        print(f"generated {len(sample.posts):,} posts in {time.perf_counter() - started:.1f} s")
        del sample
        for path in paths:
            seconds, _, output = measured(
                [sys.executable, "manage.py", "import_sample", str(path), "--name", "results", "--no-progress"], env
            )
            print(f"imported {path.name} in {seconds:.1f} s: {output.strip().splitlines()[-1]}")

    os.environ.update(env)
    import django

    django.setup()
    import numpy as np
    from django.db import connection, transaction

    from detection import run_results, selectors
    from detection.engine import EngineParams, run
    from detection.models import Sample, ScoringRun

    sample = Sample.objects.get(name="results")
    started = time.perf_counter()
    contents = selectors.sample_contents(sample_id=sample.pk)
    result = run(contents.posts, contents.accounts, EngineParams())
    post_pk = np.fromiter(map(contents.post_pk.__getitem__, result.arrays.post_keys), np.int64)
    account_pk = np.fromiter(map(contents.account_pk.__getitem__, result.arrays.account_keys), np.int64)
    del contents
    expected = selectors.engine_result_fingerprint(result)
    n_edges = sum(len(e.a) for e in result.edges.values())
    n_evidence = sum(len(e.details.ev_edge) for e in result.edges.values())
    print(
        f"engine: {result.arrays.n_posts:,} posts, {len(result.groups):,} groups, "
        f"{int((result.scores.account_score > 0).sum()):,} scored accounts, {n_edges:,} edges, "
        f"{n_evidence:,} evidence rows in {time.perf_counter() - started:.1f} s"
    )

    # Each store's seconds: writing the rows, then the commit, where PostgreSQL runs the foreign keys' deferred
    # checks (a row lock on every account, post, group and edge a new row names), the same for either writer.
    timings: dict[str, list[tuple[float, float]]] = {"orm": [], "copy": []}
    rows = 0
    same = True
    for round_number in range(args.rounds):
        order = ("orm", "copy") if round_number % 2 == 0 else ("copy", "orm")
        for writer in order:
            stored_run = ScoringRun.objects.create(sample=sample, engine_version=result.engine_version)
            started = time.perf_counter()
            with transaction.atomic():
                rows = run_results.run_results_store(
                    run=stored_run, result=result, post_pk=post_pk, account_pk=account_pk, writer=writer
                )
                written = time.perf_counter()
            timings[writer].append((written - started, time.perf_counter() - written))
            same = same and selectors.run_result_fingerprint(run=stored_run) == expected
            print(
                f"round {round_number + 1}, {writer}: write {timings[writer][-1][0]:.2f} s, "
                f"commit {timings[writer][-1][1]:.2f} s"
            )
        with connection.cursor() as cursor:  # the next round starts from tables as empty as this one's did
            cursor.execute("TRUNCATE detection_edgeevidence, detection_coordinationedge, detection_accountscore")
            cursor.execute("DELETE FROM detection_coordinatedgroup")

    best = {writer: min(seconds, key=sum) for writer, seconds in timings.items()}
    print()
    print(
        f"{'writer':<8} {'rows':>10} {'write s':>8} {'commit s':>9} {'total s':>8} {'rows/s':>9} "
        f"{'rows/s (write)':>15}   (the best of {args.rounds} by total)"
    )
    for writer, (write, commit) in best.items():
        print(
            f"{writer:<8} {rows:>10,} {write:>8.2f} {commit:>9.2f} {write + commit:>8.2f} "
            f"{rows / (write + commit):>9,.0f} {rows / write:>15,.0f}"
        )
    print(
        f"COPY against the ORM: {sum(best['orm']) / sum(best['copy']):.1f}x as fast in all, "
        f"{best['orm'][0] / best['copy'][0]:.1f}x writing the rows"
    )
    print(f"every stored run has the engine's fingerprint: {same}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
