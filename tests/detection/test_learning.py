from pathlib import Path

import pytest
from django.urls import reverse
from sklearn.dummy import DummyClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from detection import scoring, triage
from detection.learning import classifier, selectors, services
from detection.learning.features import FEATURES_VERSION
from detection.models import ClassifierModel, CoordinatedGroup, GroupFeatures, GroupPrediction, GroupStatus

from .helpers import generated_sample

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def models_in_tmp(settings, tmp_path):
    settings.CLASSIFIER_MODEL_DIR = tmp_path / "classifier"
    services._loaded.clear()


def _scored_run(tmp_path, seed=7, name="generated"):
    sample, _ = generated_sample(tmp_path, 4_000, seed=seed, name=name, decoys=3, group_share=0.1, group_size=10,
                                 posts_per_member=20)  # fmt: skip
    run = scoring.scoring_run_start(sample=sample, n_shards=2)
    run.refresh_from_db()
    assert run.status == "done", run.error
    return run


def _always_benign(calibration_folds: int) -> Pipeline:
    return Pipeline([("scale", StandardScaler()), ("calibrated", DummyClassifier(strategy="constant", constant=0))])


def test_a_run_stores_features_and_predictions_that_name_their_version(tmp_path, celery_in_process):
    first = services.classifier_train()
    assert first.version == 1 and first.is_current and first.verdicts == 0
    assert len(first.fold_precision) == len(first.fold_recall) >= 2
    assert classifier.sha256_of(Path(first.file_path)) == first.sha256
    run = _scored_run(tmp_path)
    groups = CoordinatedGroup.objects.filter(run=run)
    assert groups.exists()
    assert GroupFeatures.objects.filter(group__run=run, features_version=FEATURES_VERSION).count() == groups.count()
    predictions = GroupPrediction.objects.filter(group__run=run)
    assert predictions.count() == groups.count()
    assert set(predictions.values_list("model__version", flat=True)) == {1}
    assert all(0 <= p <= 1 for p in predictions.values_list("probability", flat=True))
    shown = selectors.group_classifier(group=groups.first())
    assert shown["version"] == 1 and len(shown["top_features"]) == 3
    assert set(groups.values_list("status", flat=True)) == {GroupStatus.NEW}  # a prediction is no verdict


def test_a_worse_model_does_not_replace_the_current_one(tmp_path):
    first = services.classifier_train()
    worse = services.classifier_train(make=_always_benign)
    assert worse.version == 2 and not worse.is_current
    assert worse.mean_recall == 0.0 and worse.compared_recall > 0.9
    assert worse.decision.startswith("Not current")
    first.refresh_from_db()
    assert first.is_current
    assert ClassifierModel.objects.filter(is_current=True).count() == 1


def test_retraining_waits_for_enough_new_verdicts_and_changes_none(tmp_path, celery_in_process):
    run = _scored_run(tmp_path)
    services.classifier_train()
    assert services.classifier_retrain_if_due(min_new_verdicts=2) is None
    first, second = CoordinatedGroup.objects.filter(run=run).order_by("number")[:2]
    triage.group_review(group=first, status=GroupStatus.CONFIRMED, note="", reviewer=None)
    triage.group_review(group=second, status=GroupStatus.REJECTED, note="", reviewer=None)
    retrained = services.classifier_retrain_if_due(min_new_verdicts=2)
    assert retrained is not None and retrained.version == 2 and retrained.verdicts == 2
    assert retrained.compared_precision is not None
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == (GroupStatus.CONFIRMED, GroupStatus.REJECTED)
    assert services.classifier_retrain_if_due(min_new_verdicts=2) is None


def test_a_tampered_model_file_is_refused_before_predicting(tmp_path):
    model = services.classifier_train()
    services._loaded.clear()
    with open(model.file_path, "ab") as f:
        f.write(b"\0")
    with pytest.raises(classifier.ModelFileError, match="SHA-256"):
        services.model_load(model)


def test_the_group_list_and_triage_page_show_the_probability(tmp_path, celery_in_process, admin_client):
    run = _scored_run(tmp_path)
    services.classifier_train()
    group = CoordinatedGroup.objects.filter(run=run).first()
    prediction = GroupPrediction.objects.get(group=group)
    listing = admin_client.get(reverse("admin:detection_coordinatedgroup_changelist")).content.decode()
    assert f"{prediction.probability:.2f} (v1)" in listing
    page = admin_client.get(reverse("admin:detection_coordinatedgroup_change", args=[group.pk])).content.decode()
    assert 'id="group-classifier"' in page and "model v1" in page
    assert admin_client.get(reverse("admin:detection_classifiermodel_changelist")).status_code == 200


def test_groups_of_an_information_operations_archive_are_inauthentic_seeds_until_reviewed(tmp_path, celery_in_process):
    from detection.models import SampleImport

    archive_run = _scored_run(tmp_path, seed=7)
    SampleImport.objects.filter(sample=archive_run.sample).update(format="twitter-io")
    mixed_run = _scored_run(tmp_path, seed=8, name="mixed")
    SampleImport.objects.filter(sample=mixed_run.sample).update(format="twitter-io")
    SampleImport.objects.create(sample=mixed_run.sample, format="canonical-posts")
    archive_groups = list(CoordinatedGroup.objects.filter(run=archive_run).order_by("number"))
    assert len(archive_groups) >= 2

    x, y = services.archive_training_set()
    assert (len(x), set(y)) == (len(archive_groups), {1})  # the mixed sample's groups are not X's disclosure
    triage.group_review(group=archive_groups[0], status=GroupStatus.REJECTED, note="", reviewer=None)
    x, y = services.archive_training_set()
    assert len(x) == len(archive_groups) - 1  # a verdict replaces the archive's label
    model = services.classifier_train()
    assert (model.archive_groups, model.verdicts) == (len(archive_groups) - 1, 1)
