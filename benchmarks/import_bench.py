"""Import speed: our sample import into PostgreSQL against coordination-network-toolkit's loader into SQLite.

Generates N canonical rows (and the same rows in the toolkit's CSV layout), then runs, each in its own
process: `manage.py import_sample` against a fresh PostgreSQL database, and the toolkit's own
`preprocess_csv_files` (pip-installed into benchmarks/.peers/cnt-venv). Prints rows per second, peak memory
(of the whole process tree: the import reads in a child process) and the ratio, and the time PostgreSQL alone
takes to COPY the same posts into a copy of the post table (a floor for any loader into it). It prints
figures; it asserts nothing.

    .venv/bin/python benchmarks/import_bench.py [--rows 1000000]
        [--database-url postgres://postgres@127.0.0.1:5432/tracker_bench]
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.engine_vs_toolkit import ensure_toolkit  # noqa: E402

WORDS = (
    "vote election taiwan 台灣 選舉 民主 ballot fraud rigged truth media people government news war peace "
    "economy china russia america freedom"
).split(" ")


def write_rows(n: int, canonical: Path, toolkit: Path, seed: int = 1) -> None:
    """N posts by N/8 accounts over one day: text, some reshares, links, hashtags and mentions."""
    rng = random.Random(seed)
    start = 1_705_104_000  # 2024-01-13 00:00 UTC
    n_accounts = max(10, n // 8)
    with canonical.open("w", encoding="utf-8", newline="") as c, toolkit.open("w", encoding="utf-8", newline="") as t:
        out_c, out_t = csv.writer(c, lineterminator="\n"), csv.writer(t, lineterminator="\n")
        out_c.writerow(
            [
                "platform",
                "post_id",
                "account_id",
                "created_at",
                "text",
                "reshare_of",
                "reply_to",
                "urls",
                "hashtags",
                "mentions",
                "media_hashes",
                "lang",
            ]
        )
        out_t.writerow(["message_id", "user_id", "username", "repost_id", "reply_id", "message", "timestamp", "urls"])
        for i in range(n):
            account = f"u{rng.randrange(n_accounts)}"
            stamp = start + rng.randrange(86_400)
            text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 14)))
            reshare = str(rng.randrange(i)) if i and rng.random() < 0.3 else ""
            url = (
                f"https://news{rng.randrange(500)}.example/a/{rng.randrange(n)}?utm_source=x"
                if rng.random() < 0.3
                else ""
            )
            tags = f"#tag{rng.randrange(200)}" if rng.random() < 0.4 else ""
            mention = f"@u{rng.randrange(n_accounts)}" if rng.random() < 0.2 else ""
            created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(stamp))
            out_c.writerow(["x", i, account, created, text, reshare, "", url, tags, mention, "", "en"])
            out_t.writerow([i, account, account, reshare, "", text, stamp, url])


def _tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants (Linux /proc), in MB; 0 once it has gone."""
    total, pending = 0, [pid]
    while pending:
        current = pending.pop()
        try:
            with open(f"/proc/{current}/status") as status:
                total += next((int(line.split()[1]) for line in status if line.startswith("VmRSS:")), 0)
            with open(f"/proc/{current}/task/{current}/children") as children:
                pending.extend(int(child) for child in children.read().split())
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total / 1024


def measured(command: list[str], env: dict | None = None) -> tuple[float, float, str]:
    """Wall seconds, peak memory in MB, and the output of a child process.

    The peak is the larger of the process's own max RSS and the resident memory of its whole process tree,
    sampled every 20 ms: our import reads the file in a process of its own, beside the one that writes.
    """
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    peak_tree = 0.0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak_tree
        while not stop.wait(0.02):
            peak_tree = max(peak_tree, _tree_rss_mb(process.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    output = process.stdout.read()
    stop.set()
    sampler.join()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{command[:3]} failed:\n{output[-3000:]}")
    return wall, max(usage.ru_maxrss / 1024, peak_tree), output


def fresh_database(url: str) -> None:
    import psycopg

    name = urlsplit(url).path.lstrip("/")
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/tracker_bench")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as folder:
        canonical, toolkit_csv = Path(folder) / "rows.csv", Path(folder) / "toolkit.csv"
        started = time.perf_counter()
        write_rows(args.rows, canonical, toolkit_csv)
        print(
            f"generated {args.rows:,} rows ({canonical.stat().st_size / 1e6:.0f} MB) in "
            f"{time.perf_counter() - started:.1f} s"
        )

        fresh_database(args.database_url)
        # DEBUG off, as in production: with it on, Django keeps the text of every query it runs.
        env = {**os.environ, "DATABASE_URL": args.database_url, "DJANGO_ENV": "local", "DJANGO_DEBUG": "false"}
        env.pop("CELERY_BROKER_URL", None)
        subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=REPO, env=env, check=True)
        command = [sys.executable, "manage.py", "import_sample", str(canonical), "--name", "bench", "--no-progress"]
        ours_s, ours_mb, output = measured(command, env)
        summary = output.strip().splitlines()[-1]
        print(summary)
        ours_job_s = job_seconds(summary)
        again_s, _, output = measured(command, env)
        again_job_s = job_seconds(output.strip().splitlines()[-1])

        floor_s = postgres_alone_seconds(args.database_url, Path(folder) / "posts.copy")

        python = ensure_toolkit()
        db = Path(folder) / "toolkit.db"
        driver = (
            "import sys; from coordination_network_toolkit.preprocess import preprocess_csv_files; "
            "preprocess_csv_files(sys.argv[1], [sys.argv[2]])"
        )
        peer_s, peer_mb, _ = measured([str(python), "-c", driver, str(db), str(toolkit_csv)])

    rows = args.rows
    print()
    print("Process: the whole command, Python and Django start-up included. Import: the import job alone.")
    print(f"{'loader':<46} {'process s':>9} {'rows/s':>8} {'import s':>9} {'rows/s':>8} {'peak MB':>8}")
    for name, wall, job, peak in (
        ("ours: import_sample -> PostgreSQL (first)", ours_s, ours_job_s, f"{ours_mb:.0f}"),
        ("ours: the same file again (no change)", again_s, again_job_s, ""),
    ):
        print(f"{name:<46} {wall:>9.1f} {rows / wall:>8,.0f} {job:>9.1f} {rows / job:>8,.0f} {peak:>8}")
    print(
        f"{'coordination-network-toolkit 1.5.2 -> SQLite':<46} {peer_s:>9.1f} {rows / peer_s:>8,.0f} "
        f"{'':>9} {'':>8} {peer_mb:>8.0f}"
    )
    print(
        f"{'PostgreSQL alone: the posts COPYed, no Python':<46} {floor_s:>9.1f} {rows / floor_s:>8,.0f} "
        f"{'':>9} {'':>8} {'':>8}"
    )
    print(f"ratio (ours / toolkit, rows per second, whole processes): {peer_s / ours_s:.2f}x")
    print(f"ratio (our import job / toolkit's whole process): {peer_s / ours_job_s:.2f}x")
    return 0


def postgres_alone_seconds(url: str, dump: Path) -> float:
    """Seconds the database itself takes to store the imported posts, with no reading or Python at all.

    The posts just imported are written out as COPY text, then COPYed into an empty copy of the post table
    with the same columns and indexes (on one connection, as an import writes): a floor under any loader
    that keeps these posts in PostgreSQL. Sample links, accounts and counts come on top.
    """
    import psycopg

    columns = (
        "platform, post_id, created_at, text, text_normalised, reshare_of, reply_to, quote_of, lang, urls, "
        "normalised_urls, domains, hashtags, mentions, media_hashes, account_id, sample_id"
    )
    with psycopg.connect(url, autocommit=True) as conn:
        with dump.open("wb") as out, conn.cursor().copy(f"COPY detection_post ({columns}) TO STDOUT") as copy:
            for data in copy:
                out.write(data)
        conn.execute("CREATE TABLE bench_posts (LIKE detection_post INCLUDING ALL)")
        try:
            started = time.perf_counter()
            with dump.open("rb") as source, conn.cursor().copy(f"COPY bench_posts ({columns}) FROM STDIN") as copy:
                while data := source.read(1 << 20):
                    copy.write(data)
            return time.perf_counter() - started
        finally:
            conn.execute("DROP TABLE bench_posts")
            dump.unlink()


def job_seconds(summary: str) -> float:
    """The import's own seconds, from import_sample's summary line ("...; 12.3 s (24,390 rows/s)")."""
    match = re.search(r"; ([0-9.]+) s \(", summary)
    if match is None:
        raise SystemExit(f"no timing in import_sample's summary: {summary!r}")
    return float(match.group(1))


if __name__ == "__main__":
    raise SystemExit(main())
