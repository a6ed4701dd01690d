"""Write a result as edges.csv, evidence.csv, groups.csv, accounts.csv and summary.json."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import numpy as np

from detection.engine.api import EngineResult
from detection.engine.arrays import SEP

_DANGEROUS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"-?\d+(\.\d+)?(e[-+]?\d+)?")


def safe_cell(value: object) -> str:
    """A CSV cell a spreadsheet will not run: text starting like a formula gets a leading quote."""
    text = value if isinstance(value, str) else str(value)
    if text.startswith(_DANGEROUS) and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


def _num(x: float) -> str:
    return format(float(x), ".6g")


def _split(key: str) -> tuple[str, str]:
    platform, _, ident = key.partition(SEP)
    return platform, ident


def _csv(header: list[str], rows) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([safe_cell(c) for c in row])
    return buffer.getvalue()


def render(result: EngineResult) -> dict[str, str]:
    """The output files of a result as text, keyed by file name; identical input gives identical bytes."""
    arrays = result.arrays
    acc = [_split(k) for k in arrays.account_keys]
    posts = [_split(k)[1] for k in arrays.post_keys]
    edge_rows, evidence_rows = [], []
    for name, e in result.edges.items():
        d = e.details
        for i in range(len(e.a)):
            a, b = int(e.a[i]), int(e.b[i])
            edge_rows.append(
                [
                    acc[a][1], acc[b][1], name, int(e.weight[i]), int(e.w_ab[i]), int(e.w_ba[i]),
                    _num(e.expected[i]), _num(e.p_value[i]), _num(e.q_value[i]), int(d.first_a[i]),
                    int(d.first_b[i]), _num(d.median_dt[i]), int(d.n_pairs[i]), acc[a][0], acc[b][0],
                ]
            )  # fmt: skip
        for j in range(len(d.ev_edge)):
            i = int(d.ev_edge[j])
            a, b = int(e.a[i]), int(e.b[i])
            evidence_rows.append(
                [acc[a][1], acc[b][1], name, posts[int(d.ev_post_a[j])], posts[int(d.ev_post_b[j])], _num(d.ev_dt[j])]
            )
    scores = result.scores
    flagged = result.flagged
    group_rows = []
    for gid, members in enumerate(result.groups, start=1):
        leader = scores.group_leader[gid - 1]
        group_rows.append(
            [
                gid,
                len(members),
                _num(scores.group_score[gid - 1]),
                int(np.count_nonzero(flagged[members])),
                acc[leader][1] if leader >= 0 else "",
                scores.group_reasons[gid - 1],
                json.dumps([acc[m][1] for m in members.tolist()], ensure_ascii=False),
            ]
        )
    account_rows = [
        [
            acc[i][1], acc[i][0], _num(scores.account_score[i]), int(flagged[i]),
            int(scores.account_group[i]) or "", int(scores.lead[i]), int(scores.follow[i]), scores.account_reasons[i],
        ]
        for i in range(arrays.n_accounts)
    ]  # fmt: skip
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
