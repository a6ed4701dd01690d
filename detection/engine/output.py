"""Write a result as edges.csv, evidence.csv, groups.csv, accounts.csv and summary.json."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from detection.engine.api import EngineResult
from detection.engine.arrays import SEP

_DANGEROUS = ("=", "+", "-", "@", "\t", "\r")
_DANGEROUS_FIRST = "=+-@\t\r"
_NUMBER = re.compile(r"-?\d+(\.\d+)?(e[-+]?\d+)?")


def safe_cell(value: object) -> str:
    """A CSV cell a spreadsheet will not run: text starting like a formula gets a leading quote."""
    text = value if isinstance(value, str) else str(value)
    if text.startswith(_DANGEROUS) and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


CSV_MEDIA_TYPE = "text/csv; charset=utf-8"


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_lines(rows: Iterable[Iterable[str]]) -> Iterator[str]:
    """Rows as lines of CSV text, led by a byte-order mark so that spreadsheets read the UTF-8 as UTF-8."""
    yield "\ufeff"
    writer = csv.writer(_Echo())
    for row in rows:
        yield writer.writerow(row)


def _num(x: float) -> str:
    return format(float(x), ".6g")


def _split(key: str) -> tuple[str, str]:
    platform, _, ident = key.partition(SEP)
    return platform, ident


def _csv(header: list[str], rows) -> str:
    """Rows whose text cells already went through safe_cell (ints never need it: str(int) cannot run)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([safe_cell(c) for c in header])
    writer.writerows(rows)
    return buffer.getvalue()


def _safe(values: list[str]) -> list[str]:
    """safe_cell of every text, called only where the first character could make it run."""
    first = _DANGEROUS_FIRST
    return [safe_cell(v) if v[:1] in first else v for v in values]


def _nums(x: np.ndarray) -> list[str]:
    """_num of every value, made safe (a negative number stays as it is; -inf gets its quote)."""
    return _safe([format(v, ".6g") for v in np.asarray(x, dtype=np.float64).tolist()])


def render(result: EngineResult) -> dict[str, str]:
    """The output files of a result as text, keyed by file name; identical input gives identical bytes."""
    arrays = result.arrays
    split = [_split(k) for k in arrays.account_keys]
    acc_id = _safe([ident for _, ident in split])
    acc_platform = _safe([platform for platform, _ in split])
    del split
    edge_rows, evidence_rows = [], []
    for name, e in result.edges.items():
        d = e.details
        safe_name = safe_cell(name)
        a, b = e.a.tolist(), e.b.tolist()
        columns = [
            [acc_id[x] for x in a], [acc_id[y] for y in b], [safe_name] * len(a), e.weight.tolist(),
            e.w_ab.tolist(), e.w_ba.tolist(), _nums(e.expected), _nums(e.p_value), _nums(e.q_value),
            d.first_a.tolist(), d.first_b.tolist(), _nums(d.median_dt), d.n_pairs.tolist(),
            [acc_platform[x] for x in a], [acc_platform[y] for y in b],
        ]  # fmt: skip
        edge_rows.extend(zip(*columns, strict=True))
        ev = d.ev_edge.tolist()
        post_a, post_b = d.ev_post_a.tolist(), d.ev_post_b.tolist()
        post_id = {i: safe_cell(_split(arrays.post_keys[i])[1]) for i in set(post_a) | set(post_b)}
        columns = [
            [acc_id[a[i]] for i in ev], [acc_id[b[i]] for i in ev], [safe_name] * len(ev),
            [post_id[p] for p in post_a], [post_id[p] for p in post_b], _nums(d.ev_dt),
        ]  # fmt: skip
        evidence_rows.extend(zip(*columns, strict=True))
    scores = result.scores
    flagged = result.flagged
    group_rows = []
    group_score = _nums(scores.group_score)
    for gid, members in enumerate(result.groups, start=1):
        leader = scores.group_leader[gid - 1]
        ids = [_split(arrays.account_keys[m])[1] for m in members.tolist()]
        group_rows.append(
            [
                gid,
                len(members),
                group_score[gid - 1],
                int(np.count_nonzero(flagged[members])),
                acc_id[leader] if leader >= 0 else "",
                safe_cell(scores.group_reasons[gid - 1]),
                safe_cell(json.dumps(ids, ensure_ascii=False)),
            ]
        )
    group_of = [g or "" for g in scores.account_group.tolist()]
    account_rows = zip(
        acc_id, acc_platform, _nums(scores.account_score), flagged.astype(np.int64).tolist(), group_of,
        scores.lead.tolist(), scores.follow.tolist(), _safe(list(scores.account_reasons)), strict=True,
    )  # fmt: skip
    return {
        "edges.csv": _csv(
            [
                "source",
                "target",
                "behaviour",
                "weight",
                "weight_source_target",
                "weight_target_source",
                "expected",
                "p_value",
                "q_value",
                "source_first",
                "target_first",
                "median_lag_s",
                "coaction_pairs",
                "source_platform",
                "target_platform",
            ],
            edge_rows,
        ),  # fmt: skip
        "evidence.csv": _csv(["source", "target", "behaviour", "source_post", "target_post", "lag_s"], evidence_rows),
        "groups.csv": _csv(
            ["group_id", "size", "score", "flagged_members", "leader", "reasons", "members"], group_rows
        ),
        "accounts.csv": _csv(
            ["account_id", "platform", "score", "flagged", "group_id", "lead", "follow", "reasons"], account_rows
        ),
        "summary.json": json.dumps(result.summary, indent=2, sort_keys=True, ensure_ascii=False) + "\n",
    }


def write_outputs(result: EngineResult, out_dir: Path) -> list[Path]:
    """Write the output files of a result into a directory (created when missing)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in render(result).items():
        path = out_dir / name
        path.write_text(text, encoding="utf-8", newline="")
        written.append(path)
    return written
