"""Command line: score a sample file without Django or a database.

python -m detection.engine INPUT [--format F] --out DIR [--behaviours co-reshare,...] [--window S]
                                 [--min-weight N] [--threshold T] [--max-pairs N]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from tqdm import tqdm

from detection.engine.api import run
from detection.engine.arrays import build_arrays
from detection.engine.budget import DEFAULT_MAX_PAIRS, BudgetExceeded
from detection.engine.output import write_outputs
from detection.engine.params import BEHAVIOURS, EngineParams
from detection.engine.records import AccountRecord, PostRecord, RowError, SampleFileError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m detection.engine", description=__doc__.splitlines()[0])
    parser.add_argument("input", type=Path, help="sample file (canonical CSV/JSONL, X IO archive, CooRTweet, toolkit)")
    parser.add_argument("--format", default=None, help="input format; detected from the header when left out")
    parser.add_argument("--accounts", type=Path, default=None, help="optional accounts file (canonical accounts CSV)")
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    parser.add_argument("--behaviours", default=",".join(BEHAVIOURS), help="comma-separated behaviours")
    parser.add_argument("--window", type=float, default=EngineParams.window_s, help="time window in seconds")
    parser.add_argument(
        "--min-weight", type=int, default=None, help="use the peers' fixed minimum weight instead of significance"
    )
    parser.add_argument(
        "--threshold", type=float, default=EngineParams.flag_threshold, help="score at which an account is flagged"
    )
    parser.add_argument(
        "--max-pairs",
        type=int,
        default=DEFAULT_MAX_PAIRS,
        help="refuse a run that would build more co-action pairs (up to 1 KB each); 0: no limit",
    )
    parser.add_argument("--max-row-errors", type=int, default=20, help="row errors printed before summarising")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def _records(path: Path, fmt: str | None, errors: list[RowError], quiet: bool) -> Iterator[PostRecord | AccountRecord]:
    from detection.engine.readers import read_sample  # the readers are heavier; the engine alone does not need them

    for record in tqdm(read_sample(path, fmt), desc="reading", unit=" rows", disable=quiet, file=sys.stderr):
        if isinstance(record, RowError):
            errors.append(record)
        else:
            yield record


def main(argv: list[str] | None = None) -> int:
    """Read a sample, run the engine and write its output files; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        params = EngineParams(
            window_s=args.window,
            behaviours=tuple(b.strip() for b in args.behaviours.split(",") if b.strip()),
            min_weight=args.min_weight,
            flag_threshold=args.threshold,
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not args.input.is_file():
        print(f"error: {args.input} is not a readable file", file=sys.stderr)
        return 2
    errors: list[RowError] = []
    started = time.perf_counter()
    try:
        posts: list[PostRecord] = []
        accounts: list[AccountRecord] = []
        for record in _records(args.input, args.format, errors, args.quiet):
            (posts if isinstance(record, PostRecord) else accounts).append(record)
        if args.accounts is not None:
            accounts.extend(
                r for r in _records(args.accounts, None, errors, args.quiet) if isinstance(r, AccountRecord)
            )
    except (SampleFileError, ValueError, OSError) as exc:
        print(f"error: cannot read {args.input}: {exc}", file=sys.stderr)
        return 2
    for err in errors[: args.max_row_errors]:
        print(f"row error: line {err.line}, {err.field}: {err.reason}", file=sys.stderr)
    if len(errors) > args.max_row_errors:
        print(f"... and {len(errors) - args.max_row_errors} more row errors", file=sys.stderr)
    if not posts:
        print(f"error: no valid post in {args.input}", file=sys.stderr)
        return 1
    steps = tqdm(total=2, desc="scoring", disable=args.quiet, file=sys.stderr)
    arrays = build_arrays(posts, accounts, params)
    steps.update()
    try:
        result = run(arrays, params=params, max_pairs=args.max_pairs or None)
    except BudgetExceeded as exc:
        steps.close()
        print(f"error: {exc}", file=sys.stderr)
        return 1
    steps.update()
    steps.close()
    result.summary["rejected_rows"] = len(errors)
    write_outputs(result, args.out)
    print(
        f"{arrays.n_posts} posts, {arrays.n_accounts} accounts, {len(result.groups)} groups, "
        f"{result.summary['flagged_accounts']} flagged, {time.perf_counter() - started:.1f} s -> {args.out}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
