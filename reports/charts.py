"""Charts of a report's content as PNG bytes (matplotlib, Agg; no pyplot state, safe in worker threads)."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure

INK = "#1f2933"
ACCENT = "#2f6f9f"
CONFIRMED = "#b23a48"
DPI = 150


def _figure(width: float, height: float) -> Figure:
    # Imported here: matplotlib takes a quarter of a second to load, and most processes never draw.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


def _style(axes, grid: str = "y") -> None:
    axes.spines[["top", "right"]].set_visible(False)
    axes.tick_params(colors=INK, labelsize=8)
    axes.grid(axis=grid, color="#d9dee3", linewidth=0.6)
    axes.set_axisbelow(True)


def _chart(title: str, xlabel: str, ylabel: str, width: float = 7.0, height: float = 3.0):
    """A figure with one titled pair of axes, labelled."""
    figure = _figure(width, height)
    axes = figure.add_subplot()
    axes.set_title(title, fontsize=10, color=INK, loc="left")
    axes.set_xlabel(xlabel, fontsize=8)
    axes.set_ylabel(ylabel, fontsize=8)
    return figure, axes


def _note(axes, message: str) -> None:
    axes.text(0.5, 0.5, message, ha="center", va="center", fontsize=10, color="#6b7785", transform=axes.transAxes)


def _empty(axes, message: str) -> None:
    _note(axes, message)
    axes.set_xticks([])
    axes.set_yticks([])


def campaigns_over_time(timeline: list[dict]) -> bytes:
    """Campaigns active per month."""
    figure, axes = _chart("Campaigns over time", "Month", "Active campaigns")
    if not timeline:
        _empty(axes, "No dated campaigns in this report")
        return _png(figure)
    labels = [row["month"] for row in timeline]
    counts = [row["count"] for row in timeline]
    positions = range(len(labels))
    axes.bar(positions, counts, color=ACCENT, width=0.8)
    step = max(1, len(labels) // 12)
    axes.set_xticks(list(positions)[::step], labels[::step], rotation=45, ha="right")
    axes.yaxis.get_major_locator().set_params(integer=True)
    _style(axes)
    return _png(figure)


def techniques_by_tactic(tactics: list[dict]) -> bytes:
    """Technique uses per DISARM tactic, every tactic shown (zero included), in phase order."""
    figure, axes = _chart(
        "DISARM techniques by tactic", "Technique uses in the report's campaigns", "Tactic", height=4.2
    )
    rows = [t for t in tactics if t["id"]] or tactics
    labels = [f"{t['id']} {t['name']}" for t in rows]
    counts = [t["count"] for t in rows]
    positions = list(range(len(rows)))[::-1]
    axes.barh(positions, counts, color=[ACCENT if c else "#c9d1d9" for c in counts], height=0.7)
    axes.set_yticks(positions, labels)
    axes.set_xlim(0, max(counts + [1]) * 1.15)
    axes.xaxis.get_major_locator().set_params(integer=True)
    if not any(counts):
        _note(axes, "No DISARM techniques mapped")
    _style(axes, grid="x")
    return _png(figure)


def group_sizes_and_scores(groups: list[dict]) -> bytes:
    """Each coordinated group's size against its score; confirmed groups stand out."""
    figure, axes = _chart("Coordinated groups: size and score", "Accounts in the group", "Group score (0-1)")
    if not groups:
        _empty(axes, "No coordinated groups in this period")
        return _png(figure)
    for confirmed, colour, label in ((False, ACCENT, "To review"), (True, CONFIRMED, "Confirmed")):
        chosen = [g for g in groups if g["confirmed"] == confirmed]
        if chosen:
            axes.scatter(
                [g["size"] for g in chosen],
                [g["score"] for g in chosen],
                s=28,
                color=colour,
                label=label,
                alpha=0.85,
                edgecolors="white",
                linewidths=0.5,
            )
    axes.set_ylim(0, 1.05)
    if max(g["size"] for g in groups) > 50:
        axes.set_xscale("log")
    else:
        axes.xaxis.get_major_locator().set_params(integer=True)
        axes.set_xlim(0, max(g["size"] for g in groups) * 1.15 + 1)
    axes.legend(fontsize=8, frameon=True, loc="lower right")
    _style(axes, grid="both")
    return _png(figure)


def report_charts(content: dict) -> dict[str, bytes]:
    return {
        "timeline": campaigns_over_time(content["timeline"]),
        "tactics": techniques_by_tactic(content["tactics"]),
        "groups": group_sizes_and_scores(content["groups"]),
    }
