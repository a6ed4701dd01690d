"""The classifier of groups: inauthentic (1) or benign (0) coordination, from the features of features.py.

scikit-learn only, no Django. A calibrated logistic regression behind a scaler, so that its probability can be
read as a frequency on groups like the ones it learned from and its coefficients say which features drove it.
Model files are written with skops and read back only if their SHA-256 is the one recorded when they were
written, and only with the types this pipeline is made of: never an unchecked pickle.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import precision_score, recall_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

THRESHOLD = 0.5  # a group with probability at or above it is predicted inauthentic
FOLDS = 5
CALIBRATION_FOLDS = 3
SEED = 20240113
# The types a model file may hold beyond what skops trusts by default; anything else refuses to load.
TRUSTED_TYPES = [
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
]


class ModelFileError(Exception):
    """A model file that is missing, altered since it was written, or holds types a model never holds."""


@dataclass
class CrossValidation:
    """Precision and recall (at THRESHOLD) on each held-out fold."""

    precision: list[float] = field(default_factory=list)
    recall: list[float] = field(default_factory=list)

    @property
    def mean_precision(self) -> float:
        return float(np.mean(self.precision)) if self.precision else 0.0

    @property
    def mean_recall(self) -> float:
        return float(np.mean(self.recall)) if self.recall else 0.0

    def no_worse_than(self, other: CrossValidation, tolerance: float = 0.01) -> bool:
        """True when neither mean precision nor mean recall is more than tolerance below the other's."""
        precision_kept = self.mean_precision >= other.mean_precision - tolerance
        return precision_kept and self.mean_recall >= other.mean_recall - tolerance


def make_pipeline(calibration_folds: int = CALIBRATION_FOLDS) -> Pipeline:
    model = LogisticRegression(C=1.0, max_iter=2000, class_weight="balanced")
    return Pipeline(
        [
            ("scale", StandardScaler()),
            ("calibrated", CalibratedClassifierCV(model, method="sigmoid", cv=calibration_folds)),
        ]
    )


PipelineFactory = Callable[[int], Pipeline]


def _calibration_folds(y: np.ndarray) -> int:
    smallest = int(np.bincount(y.astype(int), minlength=2).min())
    if smallest < 2:
        raise ValueError("training needs at least two groups of each label (inauthentic and benign)")
    return min(CALIBRATION_FOLDS, smallest)


def fit(x: np.ndarray, y: np.ndarray, weight: np.ndarray | None = None, make: PipelineFactory = make_pipeline):
    """A pipeline fitted on all the rows (weight: how much each row counts, e.g. verdicts over seeds)."""
    pipeline = make(_calibration_folds(y))
    weight = np.ones(len(y)) if weight is None else weight
    return pipeline.fit(x, y, **{f"{pipeline.steps[-1][0]}__sample_weight": weight})


def folds(y: np.ndarray, n_folds: int = FOLDS, seed: int = SEED) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified (train, held-out) index pairs, the same for the same labels and seed."""
    n = max(2, min(n_folds, int(np.bincount(y.astype(int), minlength=2).min())))
    return list(StratifiedKFold(n_splits=n, shuffle=True, random_state=seed).split(np.zeros(len(y)), y))


def cross_validate(
    x: np.ndarray,
    y: np.ndarray,
    weight: np.ndarray | None = None,
    splits: list[tuple[np.ndarray, np.ndarray]] | None = None,
    make: PipelineFactory = make_pipeline,
) -> CrossValidation:
    """Fit on each fold's training part, measure on its held-out part."""
    weight = np.ones(len(y)) if weight is None else weight
    cv = CrossValidation()
    for train, test in splits or folds(y):
        model = fit(x[train], y[train], weight[train], make)
        _measure(cv, y[test], predict_proba(model, x[test]))
    return cv


def evaluate(model, x: np.ndarray, y: np.ndarray, splits: list[tuple[np.ndarray, np.ndarray]]) -> CrossValidation:
    """A model as it stands, measured on the held-out part of each fold (for comparing with a candidate)."""
    cv = CrossValidation()
    for _, test in splits:
        _measure(cv, y[test], predict_proba(model, x[test]))
    return cv


def _measure(cv: CrossValidation, y: np.ndarray, proba: np.ndarray) -> None:
    predicted = (proba >= THRESHOLD).astype(int)
    cv.precision.append(float(precision_score(y, predicted, zero_division=0)))
    cv.recall.append(float(recall_score(y, predicted, zero_division=0)))


def predict_proba(model, x: np.ndarray) -> np.ndarray:
    """The probability that each group is inauthentic coordination."""
    if len(x) == 0:
        return np.zeros(0)
    return model.predict_proba(x)[:, 1]


def coefficients(model) -> np.ndarray | None:
    """The logistic model's coefficients on the scaled features, averaged over the calibration folds."""
    calibrated = model.steps[-1][1]
    fitted = getattr(calibrated, "calibrated_classifiers_", None)
    if not fitted or not hasattr(fitted[0].estimator, "coef_"):
        return None
    return np.mean([c.estimator.coef_[0] for c in fitted], axis=0)


def top_features(model, x: np.ndarray, names: tuple[str, ...], k: int = 3) -> list[list[tuple[str, float]]]:
    """Per row, the k features that pushed its log-odds furthest (coefficient times scaled value), signed."""
    coef = coefficients(model)
    if coef is None or len(x) == 0:
        return [[] for _ in range(len(x))]
    contribution = model.steps[0][1].transform(x) * coef
    order = np.argsort(-np.abs(contribution), axis=1)[:, :k]
    return [[(names[j], round(float(contribution[i, j]), 3)) for j in row] for i, row in enumerate(order)]


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def save(model, path: Path) -> str:
    """Write the model with skops; returns the file's SHA-256, to be recorded beside its path."""
    import skops.io as sio  # loading skops takes seconds (it walks scikit-learn's estimators): only files pay

    path.parent.mkdir(parents=True, exist_ok=True)
    sio.dump(model, path)
    return sha256_of(path)


def load(path: Path, sha256: str):
    """Read a model written by save, refusing a file whose SHA-256 differs or that holds unexpected types."""
    if not path.is_file():
        raise ModelFileError(f"model file {path} is missing")
    found = sha256_of(path)
    if found != sha256:
        raise ModelFileError(f"model file {path} has SHA-256 {found}, not the recorded {sha256}: refusing to load it")
    import skops.io as sio  # see save

    untrusted = set(sio.get_untrusted_types(file=path)) - set(TRUSTED_TYPES)
    if untrusted:
        raise ModelFileError(f"model file {path} holds types a model never holds: {', '.join(sorted(untrusted))}")
    return sio.load(path, trusted=TRUSTED_TYPES)
