"""Training end to end on tiny generated images, through the real services (1 epoch, small network)."""

import numpy as np
import pytest
from django.core.files.storage import default_storage

from factories import jpeg_bytes, make_image, make_model_version
from modelzoo.inference import classifier_for
from modelzoo.models import ModelVersion, TrainingRun
from modelzoo.selectors import model_version_active
from modelzoo.services import (
    model_version_promote,
    retrain_if_enough_labels,
    training_run_execute,
    training_run_request,
)
from quiz.demo_images import make_demo_image
from quiz.models import Image, Label, Split
from quiz.services.images import image_import

pytestmark = pytest.mark.django_db
TINY = {"epochs": 1, "width": 4, "input_size": 32, "batch_size": 8, "progress": False}


@pytest.fixture
def labelled_pool():
    for i in range(12):
        make_image(label=Label.CORROSION if i % 2 else Label.NO_CORROSION)
    for i in range(6):
        make_image(split=Split.VALIDATION, label=Label.CORROSION if i % 2 else Label.NO_CORROSION)


def test_it_trains_registers_and_activates_a_first_version_that_classifies(labelled_pool):
    run = training_run_request(triggered_by="test", config=TINY, enqueue=False)
    version = training_run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.state == TrainingRun.State.DONE and run.finished_at is not None
    assert run.epoch == 1 and len(run.history) == 1
    assert version.status == ModelVersion.Status.ACTIVE
    assert (version.n_train_images, version.n_val_images) == (12, 6)
    assert sum(map(sum, version.confusion)) == 6
    assert version.val_accuracy == pytest.approx(np.trace(version.confusion) / 6)
    assert version.hyperparameters["lr"] > 0 and version.device == "cpu"
    # One image per class held out of the 12 to choose the epoch and fit the temperature.
    assert version.n_selection_images == 2 and version.selection_accuracy in (0.0, 0.5, 1.0)
    assert version.temperature > 0 and version.balanced_accuracy is not None
    assert 0 <= version.ece <= 1 and 0 <= version.ece_calibrated <= 1
    assert default_storage.exists(version.onnx.name) and default_storage.exists(version.checkpoint.name)

    predictions = classifier_for(version).classify([make_demo_image(Label.CORROSION, seed=5)])
    assert predictions[0].label == (Label.CORROSION if predictions[0].probability >= 0.5 else Label.NO_CORROSION)
    assert np.isfinite(predictions[0].cam).all()


def test_it_never_trains_on_validation_or_unlabelled_or_excluded_images(labelled_pool):
    labelled_train = set(Image.objects.filter(split=Split.TRAIN).values_list("pk", flat=True))
    make_image(label=None)
    make_image(label=Label.CORROSION, excluded=True)
    run = training_run_request(triggered_by="test", config=TINY, enqueue=False)
    version = training_run_execute(run_id=run.pk)
    assert version.n_train_images == 12
    # What it learned from, so that a photo withdrawn later is traced to it.
    assert version.train_image_ids == sorted(labelled_train) and version.withdrawn_images == []


def test_it_marks_a_crashed_run_failed_and_leaves_the_active_model_alone(labelled_pool):
    active = make_model_version(version=1, val_accuracy=0.7)
    model_version_promote(version_id=active.pk)
    broken = Image.objects.filter(split=Split.TRAIN).first()
    default_storage.delete(broken.file.name)  # the trainer will fail to read it

    run = training_run_request(triggered_by="test", config=TINY, enqueue=False)
    assert training_run_execute(run_id=run.pk) is None
    run.refresh_from_db()
    assert run.state == TrainingRun.State.FAILED
    assert "Error" in run.error
    assert model_version_active().pk == active.pk
    assert ModelVersion.objects.count() == 1
    assert len(default_storage.listdir("models")[1]) == 2  # only v1's files, nothing half-written


def test_it_fails_a_run_with_an_unknown_configuration_key(labelled_pool, settings):
    settings.TRAINING_CONFIG = {"epochz": 3}
    run = training_run_request(triggered_by="test", enqueue=False)
    training_run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.state == TrainingRun.State.FAILED and "epochz" in run.error


def test_it_fails_clearly_without_validation_images():
    make_image(label=Label.CORROSION)
    run = training_run_request(triggered_by="test", config=TINY, enqueue=False)
    training_run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.state == TrainingRun.State.FAILED
    assert "expert-labelled validation images" in run.error


def test_it_is_idempotent_for_a_finished_run(labelled_pool):
    run = training_run_request(triggered_by="test", config=TINY, enqueue=False)
    training_run_execute(run_id=run.pk)
    assert training_run_execute(run_id=run.pk) is None
    assert ModelVersion.objects.count() == 1


def test_it_fails_a_run_redelivered_after_its_worker_died(labelled_pool):
    run = training_run_request(triggered_by="test", config=TINY, enqueue=False)
    TrainingRun.objects.filter(pk=run.pk).update(state=TrainingRun.State.RUNNING)
    assert training_run_execute(run_id=run.pk) is None
    run.refresh_from_db()
    assert run.state == TrainingRun.State.FAILED and "stopped mid-run" in run.error
    training_run_request(triggered_by="test", enqueue=False)  # the next trigger works


def test_it_queues_a_retrain_only_over_the_label_threshold(settings, django_capture_on_commit_callbacks):
    from django.utils import timezone

    settings.RETRAIN_MIN_NEW_LABELS = 3
    version = make_model_version(version=1, val_accuracy=0.7, data_snapshot_at=timezone.now())
    model_version_promote(version_id=version.pk)
    make_image(label=Label.CORROSION)
    make_image(label=Label.NO_CORROSION)
    make_image(split=Split.VALIDATION)  # validation labels do not count
    with django_capture_on_commit_callbacks() as callbacks:
        assert retrain_if_enough_labels() is None
    assert callbacks == [] and TrainingRun.objects.filter(state="queued").count() == 0

    make_image(label=Label.CORROSION)
    with django_capture_on_commit_callbacks() as callbacks:
        run = retrain_if_enough_labels()
        assert retrain_if_enough_labels() is None  # already queued: no duplicate
    assert run.state == TrainingRun.State.QUEUED and "schedule" in run.triggered_by
    assert len(callbacks) == 1


def test_it_fails_runs_that_stopped_reporting(settings):
    from datetime import timedelta

    from django.utils import timezone

    run = TrainingRun.objects.create(triggered_by="test", state=TrainingRun.State.RUNNING)
    TrainingRun.objects.filter(pk=run.pk).update(updated_at=timezone.now() - timedelta(hours=2))
    retrain_if_enough_labels()
    run.refresh_from_db()
    assert run.state == TrainingRun.State.FAILED


def test_it_defaults_to_the_papers_optimiser_settings():
    from modelzoo.ml.trainer import TrainConfig

    config = TrainConfig()
    assert config.lr == 1e-4
    assert config.device == "auto"


def test_it_self_trains_on_a_teachers_labels_of_the_unlabelled_photos_and_records_them(labelled_pool, settings):
    # A tiny teacher is rarely sure: any prediction off the fence counts here; a few epochs let it tell the
    # synthetic classes apart, so that it labels both (one class alone would be refused).
    settings.TRAIN_PSEUDO_LABEL_CONFIDENCE = 0.5001
    looks = [Label.CORROSION, Label.NO_CORROSION] * 3
    unlabelled = {
        image_import(data=jpeg_bytes(look), split=Split.TRAIN, label=None, expert=False).image.pk for look in looks
    }
    make_image(label=None, excluded=True)
    # No selection slice: the teacher learns from all 12 photos (two held out of 12 left it unsure of one
    # class for some generated photos) and keeps its last epoch.
    config = {**TINY, "epochs": 6, "lr": 3e-3, "warmup_epochs": 0.5, "selection_fraction": 0.0}
    run = training_run_request(triggered_by="test", config=config, enqueue=False)
    version = training_run_execute(run_id=run.pk)
    pseudo = {int(image_id) for image_id in version.pseudo_labels}
    assert pseudo and pseudo <= unlabelled and set(version.pseudo_labels.values()) <= {0, 1}
    assert pseudo <= set(version.train_image_ids) and len(version.train_image_ids) == 12 + len(pseudo)
    assert (version.n_train_images, version.n_pseudo_labels) == (12 + len(pseudo), len(pseudo))
    assert version.train_provenance == {"imported": 12, "model": len(pseudo)}
    recorded = version.hyperparameters["self_training"]
    assert recorded["confidence"] == 0.5001
    # The teacher was scored on the same 6 validation photos: its accuracy is a whole number of them.
    right = recorded["teacher_val_accuracy"] * 6
    assert right == pytest.approx(round(right))
    assert Image.objects.filter(pk__in=unlabelled, effective_label__isnull=False).count() == 0  # not a label


def test_it_trains_on_peoples_labels_alone_when_self_training_is_off(labelled_pool, settings):
    assert settings.TRAIN_PSEUDO_LABEL_CONFIDENCE == 0
    make_image(label=None)
    version = training_run_execute(run_id=training_run_request(triggered_by="test", config=TINY, enqueue=False).pk)
    assert (version.n_train_images, version.n_pseudo_labels, version.pseudo_labels) == (12, 0, {})
    assert "self_training" not in version.hyperparameters


def test_it_records_how_many_training_photos_each_kind_of_label_gave(labelled_pool):
    make_image(label=Label.CORROSION, expert=True)
    make_image(label=None, votes_yes=5, vote_count=5)  # a crowd label
    make_image(label=None)  # unlabelled: not trained on (self-training is off)
    run = training_run_request(triggered_by="test", config=TINY, enqueue=False)
    version = training_run_execute(run_id=run.pk)
    assert version.train_provenance == {"imported": 12, "expert": 1, "crowd": 1, "model": 0}
    assert sum(version.train_provenance.values()) == version.n_train_images == 14
