"""Activating a model version rescores the quiz pool, when selection is uncertainty-first."""

import pytest

from factories import make_image, make_model_version
from modelzoo.services import model_version_promote, model_version_rollback
from quiz.models import Image

pytestmark = pytest.mark.django_db


def scored_by():
    return set(Image.objects.values_list("model_version", flat=True))


@pytest.fixture
def newer(active_model, tiny_onnx_model):
    for _ in range(3):
        make_image(label=None)
    return make_model_version(version=2, val_accuracy=0.9, onnx=tiny_onnx_model)


def test_promotion_scores_the_pool_under_uncertain_selection(newer, settings, django_capture_on_commit_callbacks):
    settings.QUIZ_SELECTION = "uncertain"
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert model_version_promote(version_id=newer.pk)
    assert len(callbacks) == 1
    assert scored_by() == {2}


def test_rollback_rescores_with_the_version_put_back(newer, settings, django_capture_on_commit_callbacks):
    settings.QUIZ_SELECTION = "uncertain"
    with django_capture_on_commit_callbacks(execute=True):
        model_version_promote(version_id=newer.pk)
        model_version_rollback()
    assert scored_by() == {1}


def test_nothing_is_scored_under_random_selection(newer, settings, django_capture_on_commit_callbacks):
    assert settings.QUIZ_SELECTION == "random"
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        model_version_promote(version_id=newer.pk)
    assert callbacks == [] and scored_by() == {None}


def test_a_version_failing_the_gate_scores_nothing(
    active_model, tiny_onnx_model, settings, django_capture_on_commit_callbacks
):
    settings.QUIZ_SELECTION = "uncertain"
    make_image(label=None)
    worse = make_model_version(version=2, val_accuracy=0.1, onnx=tiny_onnx_model)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert not model_version_promote(version_id=worse.pk)
    assert callbacks == [] and scored_by() == {None}
