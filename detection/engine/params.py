"""Parameters of the coordination engine, with their documented defaults."""

from __future__ import annotations

from dataclasses import dataclass

ENGINE_VERSION = "1.1.0"  # 1.1: partial edges pack their matches compactly (coaction.MatchCodec)

BEHAVIOURS: tuple[str, ...] = (
    "co-reshare",
    "co-link",
    "co-domain",
    "co-hashtag",
    "co-mention",
    "co-reply",
    "same-text",
    "similar-text",
    "same-media",
)

# Behaviours that look at what a post says: the peers ignore them on reshares, so does the engine.
CONTENT_BEHAVIOURS = frozenset(BEHAVIOURS) - {"co-reshare"}


@dataclass(frozen=True)
class EngineParams:
    """Every knob of one engine run; the defaults are the documented ones."""

    window_s: float = 60.0  # two accounts co-act when |dt| <= window on the same object (peers' semantics)
    behaviours: tuple[str, ...] = BEHAVIOURS
    # None: keep the edges chance cannot explain (significance); an int: the peers' fixed minimum weight,
    # applied to the larger of the two directed weights, for parity runs.
    min_weight: int | None = None
    alpha: float = 0.01  # Benjamini-Hochberg false discovery rate per behaviour
    min_support: int = 2  # in significance mode, one co-action is never evidence on its own
    evidence_cap: int = 5  # post pairs kept per edge and behaviour
    text_min_chars: int = 20  # shorter normalised texts take no part in similar-text
    shingle_size: int = 5  # characters per shingle: works for Chinese and for space-separated languages
    lsh_bands: int = 10
    lsh_rows: int = 3
    similar_text_threshold: float = 0.7  # estimated Jaccard similarity of character shingles
    flag_threshold: float = 0.5  # accounts with score >= threshold are flagged
    louvain_resolution: float = 1.0
    seed: int = 20240113  # fixes community detection and hashing; never drawn from the clock
    chunk_pairs: int = 4_000_000  # in-window pairs materialised at once, bounds memory

    def __post_init__(self) -> None:
        unknown = sorted(set(self.behaviours) - set(BEHAVIOURS))
        if unknown:
            raise ValueError(f"unknown behaviour(s): {', '.join(unknown)}; choose from {', '.join(BEHAVIOURS)}")
        if not self.behaviours:
            raise ValueError("at least one behaviour is needed")
        if self.window_s < 0:
            raise ValueError("the window must be >= 0 seconds")
        if self.min_weight is not None and self.min_weight < 1:
            raise ValueError("min_weight must be >= 1")
        if not 0 < self.alpha < 1:
            raise ValueError("alpha must be in (0, 1)")
        if not 0 < self.similar_text_threshold <= 1:
            raise ValueError("similar_text_threshold must be in (0, 1]")
        if self.shingle_size < 1 or self.lsh_bands < 1 or self.lsh_rows < 1:
            raise ValueError("shingle_size, lsh_bands and lsh_rows must be >= 1")
        if self.lsh_bands > 63:
            raise ValueError("lsh_bands must be <= 63")
        if self.evidence_cap < 0:
            raise ValueError("evidence_cap must be >= 0")
        # Canonical order, so that ("co-link", "co-reshare") and the reverse give identical output.
        object.__setattr__(self, "behaviours", tuple(b for b in BEHAVIOURS if b in set(self.behaviours)))

    @property
    def n_hashes(self) -> int:
        return self.lsh_bands * self.lsh_rows
