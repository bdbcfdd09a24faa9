import pytest
from django.core.files.storage import default_storage
from django.utils import timezone

from factories import make_model_version
from modelzoo.errors import NoActiveModel, NothingToRollBackTo, TrainingAlreadyRunning
from modelzoo.models import ModelVersion, TrainingRun
from modelzoo.services import model_version_promote, model_version_rollback, training_run_request

pytestmark = pytest.mark.django_db


def statuses() -> dict[int, str]:
    return dict(ModelVersion.objects.values_list("version", "status"))


def test_it_stores_files_with_their_hashes_and_closes_the_run():
    version = make_model_version(version=1, val_accuracy=0.8)
    assert default_storage.exists(version.onnx.name)
    import hashlib

    assert version.onnx_sha256 == hashlib.sha256(b"onnx-1").hexdigest()
    assert TrainingRun.objects.get(pk=version.training_run_id).state == TrainingRun.State.DONE


def test_it_activates_the_first_version():
    version = make_model_version(version=1, val_accuracy=0.6)
    assert model_version_promote(version_id=version.pk) is True
    assert statuses() == {1: "active"}


def test_it_keeps_a_less_accurate_version_as_a_candidate():
    first = make_model_version(version=1, val_accuracy=0.9)
    model_version_promote(version_id=first.pk)
    worse = make_model_version(version=2, val_accuracy=0.85)
    assert model_version_promote(version_id=worse.pk) is False
    assert statuses() == {1: "active", 2: "candidate"}


def test_it_promotes_an_equal_or_better_version_and_retires_the_old_one():
    first = make_model_version(version=1, val_accuracy=0.9)
    model_version_promote(version_id=first.pk)
    equal = make_model_version(version=2, val_accuracy=0.9)
    assert model_version_promote(version_id=equal.pk) is True
    assert statuses() == {1: "retired", 2: "active"}


def test_it_applies_the_configured_tolerance(settings):
    settings.MODEL_PROMOTION_TOLERANCE = 0.02
    first = make_model_version(version=1, val_accuracy=0.9)
    model_version_promote(version_id=first.pk)
    assert model_version_promote(version_id=make_model_version(version=2, val_accuracy=0.885).pk) is True
    assert model_version_promote(version_id=make_model_version(version=3, val_accuracy=0.85).pk) is False


def test_it_rolls_back_in_one_step_and_further_on_a_second():
    for number, accuracy in ((1, 0.8), (2, 0.85), (3, 0.9)):
        model_version_promote(version_id=make_model_version(version=number, val_accuracy=accuracy).pk)
    assert statuses() == {1: "retired", 2: "retired", 3: "active"}
    assert model_version_rollback().version == 2
    assert statuses() == {1: "retired", 2: "active", 3: "candidate"}
    assert model_version_rollback().version == 1
    assert statuses() == {1: "active", 2: "candidate", 3: "candidate"}
    with pytest.raises(NothingToRollBackTo):
        model_version_rollback()


def test_it_cannot_roll_back_without_an_active_model():
    with pytest.raises(NoActiveModel):
        model_version_rollback()


def test_it_allows_one_open_training_run_at_a_time(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        first = training_run_request(triggered_by="test")
        with pytest.raises(TrainingAlreadyRunning, match=f"{first.pk}"):
            training_run_request(triggered_by="test")
    assert TrainingRun.objects.count() == 1
    assert len(callbacks) == 1  # one task enqueued, not two
    TrainingRun.objects.filter(pk=first.pk).update(state=TrainingRun.State.DONE, finished_at=timezone.now())
    training_run_request(triggered_by="test", enqueue=False)
    assert TrainingRun.objects.count() == 2


def test_it_allows_only_one_active_version_in_the_database():
    from django.db import IntegrityError

    make_model_version(version=1, val_accuracy=0.8, status="active")
    with pytest.raises(IntegrityError):
        make_model_version(version=2, val_accuracy=0.8, status="active")
