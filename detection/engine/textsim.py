"""Text normalisation and MinHash signatures of character shingles, fully vectorised."""

from __future__ import annotations

import functools
import re
import unicodedata

import numpy as np

_MENTION = re.compile(r"@\S*")
_U64 = np.uint64
_MAX = np.iinfo(np.uint64).max


def normalise_text(text: str) -> str:
    """The text as same-text compares it: NFKC, lower case, @mentions removed, whitespace collapsed."""
    # The peers (coordination-network-toolkit) strip mentions and case the same way.
    return " ".join(_MENTION.sub("", unicodedata.normalize("NFKC", text).lower()).split())


def normalise_texts(texts: list[str]) -> list[str]:
    """normalise_text of every text, its steps mapped over all texts at once (the mention pattern only where
    there is an @). Normalising them joined in one string is no faster: lower() and the whitespace collapse
    then run on a wide string."""
    nfkc = functools.partial(unicodedata.normalize, "NFKC")
    sub = _MENTION.sub
    return [" ".join((sub("", t) if "@" in t else t).split()) for t in map(str.lower, map(nfkc, texts))]


def mix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser: a stable, well-spread 64-bit hash of uint64 values."""
    # In place, with one scratch array: large temporaries cost page faults more than the arithmetic.
    with np.errstate(over="ignore"):
        z = x.astype(_U64, copy=True)
        t = np.empty_like(z)
        z += _U64(0x9E3779B97F4A7C15)
        np.right_shift(z, _U64(30), out=t)
        z ^= t
        z *= _U64(0xBF58476D1CE4E5B9)
        np.right_shift(z, _U64(27), out=t)
        z ^= t
        z *= _U64(0x94D049BB133111EB)
        np.right_shift(z, _U64(31), out=t)
        z ^= t
        return z


def shingle_hashes(texts: list[str], k: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Hash every k-character shingle of every text; returns (hashes, text index of each hash)."""
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    codes = np.frombuffer("".join(texts).encode("utf-32-le"), dtype=np.uint32)
    n_shingles = np.maximum(lengths - k + 1, 0)
    if int(n_shingles.sum()) == 0:
        return np.zeros(0, _U64), np.zeros(0, np.int64)
    # Rolling polynomial hash (32 bits suffice for k characters) of every window of the concatenation, as
    # slices without gathers; then drop the windows that cross from one text into the next.
    width = len(codes) - k + 1
    rolling = codes[:width].copy()
    with np.errstate(over="ignore"):
        for j in range(1, k):
            rolling *= np.uint32(1000003)
            rolling += codes[j : j + width]
    ends = np.cumsum(lengths)
    crossing = np.zeros(width + k, dtype=np.int8)
    np.add.at(crossing, np.maximum(ends - k + 1, 0), 1)
    np.add.at(crossing, ends, -1)
    valid = np.cumsum(crossing[:width]) == 0
    owner = np.repeat(np.arange(len(texts), dtype=np.int64), n_shingles)
    hashes = rolling[valid].astype(_U64) ^ _U64(seed & 0xFFFFFFFFFFFFFFFF)
    return mix64(hashes), owner


def minhash_signatures(texts: list[str], k: int, n_hashes: int, seed: int, chunk: int = 4_000) -> np.ndarray:
    """One-permutation MinHash with rotation densification: an (n_texts, n_hashes) uint64 matrix."""
    # Small chunks keep the per-shingle arrays in cache and out of fresh (page-faulting) memory.
    sig = np.empty((len(texts), n_hashes), dtype=_U64)
    for i in range(0, len(texts), chunk):
        sig[i : i + chunk] = _minhash_chunk(texts[i : i + chunk], k, n_hashes, seed)
    return sig


def _minhash_chunk(texts: list[str], k: int, n_hashes: int, seed: int) -> np.ndarray:
    # Texts are hashed in chunks so that the per-shingle arrays stay small whatever the sample size.
    n = len(texts)
    sig = np.full((n, n_hashes), _MAX, dtype=_U64)
    h, owner = shingle_hashes(texts, k, seed)
    bins = (h % _U64(n_hashes)).astype(np.int64)
    flat = sig.reshape(-1)
    np.minimum.at(flat, owner * n_hashes + bins, h)
    empty = sig == _MAX
    # Densify: an empty bin borrows the nearest non-empty bin to its right (cyclic), salted by distance,
    # so two texts agree on a bin only when they agree on the bin it borrows from.
    has_any = ~empty.all(axis=1)
    if empty[has_any].any():
        idx = np.where(empty, n_hashes * 3, np.arange(n_hashes))
        doubled = np.concatenate([idx, np.where(empty, n_hashes * 3, np.arange(n_hashes) + n_hashes)], axis=1)
        nxt = np.minimum.accumulate(doubled[:, ::-1], axis=1)[:, ::-1][:, :n_hashes]
        src = np.where(nxt >= n_hashes * 3, 0, nxt % n_hashes)
        dist = (nxt - np.arange(n_hashes)).astype(_U64)
        borrowed = np.take_along_axis(sig, src, axis=1)
        filled = mix64(borrowed ^ dist)
        sig = np.where(empty & has_any[:, None], filled, sig)
    return sig


def band_hashes(sig: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """Hash each band of `rows` signature values into one uint64: an (n, bands) matrix."""
    out = np.zeros((sig.shape[0], bands), dtype=_U64)
    with np.errstate(over="ignore"):
        for b in range(bands):
            acc = np.full(sig.shape[0], _U64(b + 1))
            for r in range(rows):
                acc = mix64(acc * _U64(31) + sig[:, b * rows + r])
            out[:, b] = acc
    return out
