"""A scoring run's ledger (parameters, summary, timings, files) as rows of labelled, rounded values for people.

Pure functions of the stored JSON: the admin escapes and lays them out.
"""

from dataclasses import fields

from detection.engine import EngineParams

# Parameter name -> (what it is, unit); the defaults and their reasons are in detection/engine/params.py.
PARAM_LABELS: dict[str, tuple[str, str]] = {
    "window_s": ("Co-action window", "s"),
    "behaviours": ("Behaviours", ""),
    "min_weight": ("Minimum edge weight (parity mode)", "co-actions"),
    "alpha": ("False discovery rate per behaviour", ""),
    "min_support": ("Minimum co-actions per edge", ""),
    "evidence_cap": ("Post pairs kept per edge and behaviour", ""),
    "text_min_chars": ("Shortest text compared for similar-text", "characters"),
    "shingle_size": ("Shingle size", "characters"),
    "lsh_bands": ("LSH bands", ""),
    "lsh_rows": ("LSH rows per band", ""),
    "similar_text_threshold": ("Similar-text threshold", "Jaccard"),
    "flag_threshold": ("Account flag threshold", "score"),
    "louvain_resolution": ("Louvain resolution", ""),
    "seed": ("Seed", ""),
    "chunk_pairs": ("Pairs held in memory at once", "pairs"),
}
SUMMARY_LABELS: dict[str, str] = {
    "posts": "Posts",
    "accounts": "Accounts",
    "groups": "Groups",
    "flagged_accounts": "Flagged accounts",
    "selection": "Edge selection",
    "engine_version": "Engine version",
    "rejected_rows": "Rejected rows",
}
BEHAVIOUR_COLUMNS: tuple[tuple[str, str], ...] = (
    ("coaction_pairs", "Co-action pairs"),
    ("candidate_edges", "Candidate edges"),
    ("edges", "Edges kept"),
    ("accounts", "Accounts"),
)
TIMING_LABELS: dict[str, str] = {
    "prepare": "Prepare: read the sample, write the shard files",
    "shards": "Score the shards (sum of the shards' times)",
    "select": "Reduce: merge the shards' matches, keep the significant edges",
    "evidence": "Reduce: the shards find the kept edges' pairs of posts (sum)",
    "final": "Reduce: describe the edges, find groups and scores, store",
    "reduce": "Reduce (all of it, wall)",
}


def seconds_text(seconds: float | None) -> str:
    """1.234 -> "1.2 s", 0.0423 -> "42 ms", 95.4 -> "1 min 35.4 s"; None -> ""."""
    if seconds is None:
        return ""
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(seconds, 60)
    return f"{minutes:.0f} min {rest:.1f} s"


def bytes_text(size: int | None) -> str:
    if size is None:
        return ""
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:,} {unit}" if unit == "bytes" else f"{size:,.1f} {unit}"
        size /= 1000
    return ""


def value_text(value, unit: str = "") -> str:
    """A stored value as text: lists joined, numbers with thousands separators, floats without float noise."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    if isinstance(value, int):
        text = f"{value:,}"
    elif isinstance(value, float):
        text = f"{value:,.4g}" if abs(value) < 1e6 else f"{value:,.0f}"
    else:
        text = str(value)
    return f"{text} {unit}".strip()


def param_rows(stored: dict) -> list[tuple[str, str, str]]:
    """(label, value with unit, how it compares with the default) for every engine parameter, in the engine's order;
    a parameter the run does not store took its default."""
    defaults = EngineParams()
    rows = []
    for field in fields(EngineParams):
        label, unit = PARAM_LABELS.get(field.name, (field.name, ""))
        default = getattr(defaults, field.name)
        value = stored.get(field.name, default)
        same = list(value) == list(default) if isinstance(default, tuple) else value == default
        rows.append(
            (label, value_text(value, unit), "default" if same else f"changed (default {value_text(default, unit)})")
        )
    return rows


def summary_rows(summary: dict) -> list[tuple[str, str]]:
    """(label, value) for the summary's figures; the per-behaviour counts and the parameters have their own tables."""
    return [
        (SUMMARY_LABELS.get(key, key.replace("_", " ").capitalize()), value_text(value))
        for key, value in summary.items()
        if key not in ("behaviours", "params")
    ]


def behaviour_rows(summary: dict) -> list[tuple[str, ...]]:
    """(behaviour, co-action pairs, candidate edges, edges kept, accounts) per behaviour the run looked at."""
    return [
        (name, *(value_text(counts.get(key)) for key, _ in BEHAVIOUR_COLUMNS))
        for name, counts in (summary.get("behaviours") or {}).items()
    ]


def timing_rows(timings: dict) -> list[tuple[str, str]]:
    """(step, duration) in the order the steps run, unknown steps after."""
    order = list(TIMING_LABELS)
    steps = sorted(timings, key=lambda step: (order.index(step) if step in order else len(order), step))
    return [(TIMING_LABELS.get(step, step), seconds_text(timings[step])) for step in steps]


def file_rows(files: dict) -> list[tuple[str, str, str]]:
    """(file, size, SHA-256 prefix) for each working file the prepare step wrote."""
    entries = [files.get("common"), *(files.get("shards") or []), files.get("finalise")]
    return [
        (entry["name"].rsplit("/", 1)[-1], bytes_text(entry.get("bytes")), entry.get("sha256", "")[:16])
        for entry in entries
        if entry
    ]
