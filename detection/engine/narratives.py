"""Narrative discovery: cluster the texts coordinated accounts post, name each cluster, and match clusters to
known narratives.

Texts become TF-IDF vectors of character n-grams inside word boundaries (`char_wb`), which needs no tokeniser
and no stop-word list, so Traditional Chinese, Russian and English work alike. Exact repeats (a group's copied
message) are clustered once: the clusterer (scikit-learn's HDBSCAN, on cosine distances) then sees how the
*variants* of a message spread, not how often one variant was pasted, and needs no number of clusters. A text
HDBSCAN leaves as noise is labelled -1.
The vectors are reduced by a truncated SVD (latent semantic analysis) first, which also makes HDBSCAN fast.

Pure scikit-learn and numpy: no Django here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse
from sklearn.cluster import HDBSCAN
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.preprocessing import normalize

NOISE = -1
_LETTERS = re.compile(r"[^\W\d_]+")
_UNSPACED = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\uf900-\ufaff]")


@dataclass(frozen=True)
class NarrativeParams:
    """How texts are vectorised, clustered, named and matched (documented defaults)."""

    ngram_range: tuple[int, int] = (2, 4)
    min_df: int = 2  # an n-gram in one distinct text only names nothing shared
    max_features: int = 200_000
    min_cluster_size: int = 4  # distinct texts (variants), not posts; at least min_samples
    min_samples: int | None = None  # None: grows with the square root of the distinct texts (see density_of)
    svd_components: int = 100  # the TF-IDF vectors are reduced to this many dimensions before clustering
    max_texts: int = 20_000  # distinct texts clustered; the rest are assigned to the nearest cluster
    top_terms: int = 8
    representatives: int = 3
    match_threshold: float = 0.4  # cosine similarity to a narrative's best text; unrelated English scores ~0.3
    seed: int = 0


@dataclass(frozen=True)
class TextCluster:
    """One cluster: which input texts are in it, the n-grams that name it and the texts closest to its centroid."""

    label: int
    members: tuple[int, ...]
    top_terms: tuple[str, ...]
    representatives: tuple[int, ...]
    cohesion: float  # mean cosine similarity of the members' distinct texts to the centroid


@dataclass
class NarrativeClusters:
    """The clustering of a list of texts: a label per text (-1 for noise), the clusters, and what is needed to
    compare other texts with the clusters' centroids."""

    labels: np.ndarray
    clusters: list[TextCluster]
    vectoriser: TfidfVectorizer | None = field(repr=False, default=None)
    centroids: np.ndarray | None = field(repr=False, default=None)  # one unit row per cluster

    def similarity(self, texts: Sequence[str]) -> np.ndarray:
        """Cosine similarity of each cluster's centroid (rows) to the centroid of `texts`, one column per text."""
        if self.vectoriser is None or self.centroids is None or not len(texts):
            return np.zeros((len(self.clusters), len(texts)))
        vectors = normalize(self.vectoriser.transform([_clean(t) for t in texts]))
        return np.asarray(vectors @ self.centroids.T).T


def _clean(text: str) -> str:
    return " ".join(text.casefold().split())


def cluster_texts(texts: Sequence[str], params: NarrativeParams = NarrativeParams()) -> NarrativeClusters:
    """Cluster `texts` into narratives. Deterministic for the same texts and parameters."""
    n = len(texts)
    cleaned = [_clean(t) for t in texts]
    distinct, inverse = np.unique(np.array(cleaned, dtype=object), return_inverse=True)
    keep = np.array([bool(t) for t in distinct])
    if keep.sum() < max(2, params.min_cluster_size):
        return NarrativeClusters(labels=np.full(n, NOISE), clusters=[])
    vectoriser = TfidfVectorizer(
        analyzer="char_wb",
        ngram_range=params.ngram_range,
        min_df=min(params.min_df, int(keep.sum())),
        max_features=params.max_features,
        sublinear_tf=True,
        dtype=np.float32,
    )
    try:
        vectors = vectoriser.fit_transform(distinct[keep].tolist())
    except ValueError:  # no n-gram shared by two texts: nothing to cluster on
        return NarrativeClusters(labels=np.full(n, NOISE), clusters=[])
    distinct_labels = np.full(len(distinct), NOISE)
    distinct_labels[keep] = _hdbscan(vectors, params)
    labels = distinct_labels[inverse]
    kept_rows = np.flatnonzero(keep)
    row_of = np.full(len(distinct), -1)
    row_of[kept_rows] = np.arange(len(kept_rows))

    terms = vectoriser.get_feature_names_out()
    copies = np.bincount(inverse, minlength=len(distinct)).astype(np.float64)
    first_of = np.full(len(distinct), n)
    np.minimum.at(first_of, inverse, np.arange(n))
    numbered = np.full(n, NOISE)
    clusters, centroids = [], []
    for number, label in enumerate(sorted(set(distinct_labels[keep].tolist()) - {NOISE})):
        rows = row_of[np.flatnonzero(distinct_labels == label)]
        weights = copies[distinct_labels == label]
        block = vectors[rows]
        centroid = np.asarray(block.T @ weights).ravel() / weights.sum()
        centroid /= np.linalg.norm(centroid) or 1.0
        closeness = np.asarray(block @ centroid).ravel()
        members = np.flatnonzero(labels == label)
        nearest = np.flatnonzero(distinct_labels == label)[np.argsort(-closeness, kind="stable")]
        clusters.append(
            TextCluster(
                label=number,
                members=tuple(members.tolist()),
                top_terms=_top_terms(distinct[keep], distinct_labels[keep] == label, params.top_terms),
                representatives=tuple(int(first_of[d]) for d in nearest[: params.representatives]),
                cohesion=round(float(closeness.mean()), 4),
            )
        )
        numbered[members] = number
        centroids.append(centroid)
    matrix = np.array(centroids) if centroids else np.zeros((0, len(terms)))
    return NarrativeClusters(labels=numbered, clusters=clusters, vectoriser=vectoriser, centroids=matrix)


def density_of(n_texts: int, params: NarrativeParams) -> tuple[int, int]:
    """HDBSCAN's (min_cluster_size, min_samples) for `n_texts` distinct texts. A fixed small min_samples splits a
    large run's narratives into one cluster per copied message and its edits; a large one merges a small run's
    narratives. sqrt(n)/5 (2 for 100 texts, 10 for 2,500, 20 for 10,000) kept both apart on the benchmark."""
    min_samples = params.min_samples or max(2, int(np.sqrt(n_texts) / 5))
    return max(params.min_cluster_size, min_samples), min_samples


def _hdbscan(vectors: sparse.csr_matrix, params: NarrativeParams) -> np.ndarray:
    """HDBSCAN labels of the distinct texts, on their TF-IDF vectors reduced by a seeded truncated SVD and scaled
    to unit length (so Euclidean distance orders pairs as cosine distance does); past `max_texts`, a seeded subset
    is clustered and every other text joins the cluster of its nearest clustered text (or stays noise if that one
    is)."""
    n = vectors.shape[0]
    dims = min(params.svd_components, n - 1, vectors.shape[1] - 1)
    if dims >= 2:
        reduced = normalize(TruncatedSVD(dims, random_state=params.seed).fit_transform(vectors))
    else:
        reduced = normalize(vectors.toarray())
    if n > params.max_texts:
        rng = np.random.default_rng(params.seed)
        chosen = np.sort(rng.choice(n, params.max_texts, replace=False))
    else:
        chosen = np.arange(n)
    min_cluster_size, min_samples = density_of(len(chosen), params)
    clusterer = HDBSCAN(min_cluster_size=min_cluster_size, min_samples=min_samples, copy=True)
    chosen_labels = clusterer.fit_predict(reduced[chosen])
    if len(chosen) == n:
        return chosen_labels
    labels = np.empty(n, dtype=np.int64)
    labels[chosen] = chosen_labels
    rest = np.setdiff1d(np.arange(n), chosen)
    for start in range(0, len(rest), 2_000):
        block = rest[start : start + 2_000]
        labels[block] = chosen_labels[(reduced[block] @ reduced[chosen].T).argmax(axis=1)]
    return labels


def _words(text: str) -> list[str]:
    """Words to name a cluster by: runs of letters; in scripts written without spaces (Han, kana, Hangul), their
    two- and three-character pieces, since a run there is a whole clause."""
    words = []
    for run in _LETTERS.findall(text):
        if _UNSPACED.search(run):
            words.extend(run[i : i + k] for k in (2, 3) for i in range(len(run) - k + 1))
        elif len(run) >= 3:
            words.append(run)
    return words


def _top_terms(texts: np.ndarray, in_cluster: np.ndarray, count: int) -> tuple[str, ...]:
    """The words that most set the cluster's distinct texts apart from all the others: share of the cluster's
    texts holding the word minus share of the other texts; a word inside one already named is skipped."""
    counter = CountVectorizer(analyzer=_words, binary=True)
    try:
        holds = counter.fit_transform(texts.tolist())
    except ValueError:  # no words at all
        return ()
    inside = np.asarray(holds[in_cluster].mean(axis=0)).ravel()
    outside = np.asarray(holds[~in_cluster].mean(axis=0)).ravel() if (~in_cluster).any() else 0.0
    lift = inside - outside
    terms = counter.get_feature_names_out()
    named: list[str] = []
    for index in np.lexsort((-np.char.str_len(terms.astype(str)), -lift)):
        if lift[index] <= 0 or len(named) >= count:
            break
        term = str(terms[index])
        if any(term in other for other in named):
            continue
        named = [other for other in named if other not in term] + [term]
    return tuple(named)


@dataclass(frozen=True)
class NarrativeMatch:
    """The known narrative a cluster is most like, and how alike (cosine similarity, 0 to 1)."""

    cluster: int
    narrative: object | None
    score: float


def match_narratives(
    clustering: NarrativeClusters,
    references: Mapping[object, Sequence[str]],
    params: NarrativeParams = NarrativeParams(),
) -> list[NarrativeMatch]:
    """For each cluster, the narrative whose texts (its statement, its summary, posts already linked to it) are
    closest to the cluster's centroid: a narrative's score is its best text's. Below the threshold, no narrative
    (the best score is still given)."""
    keys = list(references)
    best = [(None, 0.0)] * len(clustering.clusters)
    for key in keys:
        texts = [t for t in references[key] if t and t.strip()]
        if not texts:
            continue
        scores = clustering.similarity(texts).max(axis=1) if clustering.clusters else np.zeros(0)
        best = [(key, float(s)) if s > b[1] else b for s, b in zip(scores.tolist(), best, strict=True)]
    return [
        NarrativeMatch(cluster=i, narrative=key if score >= params.match_threshold else None, score=round(score, 4))
        for i, (key, score) in enumerate(best)
    ]
