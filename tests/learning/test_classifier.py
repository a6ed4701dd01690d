import numpy as np
import pytest

from detection.learning import classifier


def _separable(n=60, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    x = rng.normal(size=(n, 4)) + y[:, None] * 3.0
    return x, y


def test_a_saved_model_loads_back_and_predicts_the_same(tmp_path):
    x, y = _separable()
    model = classifier.fit(x, y)
    digest = classifier.save(model, tmp_path / "m.skops")
    loaded = classifier.load(tmp_path / "m.skops", digest)
    assert np.array_equal(classifier.predict_proba(loaded, x), classifier.predict_proba(model, x))


def test_a_tampered_model_file_is_refused(tmp_path):
    x, y = _separable()
    path = tmp_path / "m.skops"
    digest = classifier.save(classifier.fit(x, y), path)
    path.write_bytes(path.read_bytes() + b"\0")
    with pytest.raises(classifier.ModelFileError, match="SHA-256"):
        classifier.load(path, digest)


def test_a_missing_model_file_is_refused(tmp_path):
    with pytest.raises(classifier.ModelFileError, match="missing"):
        classifier.load(tmp_path / "nothing.skops", "0" * 64)


def test_top_features_name_the_feature_that_separates():
    x, y = _separable()
    x[:, 2] = 0.0
    model = classifier.fit(x, y)
    names = ("a", "b", "c", "d")
    top = classifier.top_features(model, x[:2], names, k=1)
    assert [t[0][0] for t in top] != ["c", "c"]
    assert classifier.coefficients(model)[2] == 0.0


def test_no_worse_than_compares_both_means():
    good = classifier.CrossValidation(precision=[1.0, 0.9], recall=[0.9, 0.9])
    worse_recall = classifier.CrossValidation(precision=[1.0, 1.0], recall=[0.5, 0.6])
    assert not worse_recall.no_worse_than(good)
    assert good.no_worse_than(worse_recall) is False  # lower precision by more than the tolerance
    assert good.no_worse_than(good)


def test_training_needs_both_labels_twice():
    with pytest.raises(ValueError, match="two groups of each label"):
        classifier.fit(np.zeros((3, 2)), np.array([1, 1, 0]))
