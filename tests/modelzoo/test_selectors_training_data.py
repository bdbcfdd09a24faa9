"""What training is given: labelled images, and with self-training the ones the active model is sure of."""

import pytest

from factories import make_image, make_model_version
from modelzoo.selectors import training_data
from quiz.models import Label, Split

pytestmark = pytest.mark.django_db


def scored(probability: float, version: int = 1, **fields):
    """An unlabelled training image as the scoring task leaves it."""
    return make_image(
        label=None,
        model_probability=probability,
        model_margin=abs(probability - 0.5),
        model_version=version,
        **fields,
    )


def paths_and_labels(data) -> dict[str, int]:
    return {path.rsplit("/", 1)[-1]: label for path, label in data.train}


def name(image) -> str:
    return image.file.name.rsplit("/", 1)[-1]


@pytest.fixture
def pool(active_model):
    make_image(split=Split.VALIDATION, label=Label.NO_CORROSION)
    return {
        "labelled": make_image(label=Label.NO_CORROSION, model_probability=0.99, model_margin=0.49, model_version=1),
        "sure_yes": scored(0.97),
        "sure_no": scored(0.04),
        "unsure": scored(0.7),
        "old_model": scored(0.99, version=7),
        "excluded": scored(0.99, excluded=True),
        "unscored": make_image(label=None),
    }


def test_it_adds_the_unlabelled_images_the_active_model_is_sure_of_labelled_by_it(pool, settings):
    settings.TRAIN_PSEUDO_LABEL_CONFIDENCE = 0.9
    data = training_data()
    assert paths_and_labels(data) == {
        name(pool["labelled"]): 0,  # a person's label wins over the model's view
        name(pool["sure_yes"]): 1,
        name(pool["sure_no"]): 0,
    }
    assert data.n_pseudo == 2 and len(data.validation) == 1


def test_a_stricter_confidence_takes_fewer(pool, settings):
    settings.TRAIN_PSEUDO_LABEL_CONFIDENCE = 0.96
    data = training_data()
    assert data.n_pseudo == 2
    settings.TRAIN_PSEUDO_LABEL_CONFIDENCE = 0.965
    assert set(paths_and_labels(training_data())) == {name(pool["labelled"]), name(pool["sure_yes"])}


def test_it_trains_on_labels_only_when_self_training_is_off(pool, settings):
    assert settings.TRAIN_PSEUDO_LABEL_CONFIDENCE == 0
    data = training_data()
    assert paths_and_labels(data) == {name(pool["labelled"]): 0} and data.n_pseudo == 0


def test_it_takes_no_model_labels_without_an_active_model(db, settings):
    settings.TRAIN_PSEUDO_LABEL_CONFIDENCE = 0.9
    make_model_version(version=1, val_accuracy=0.8)  # a candidate, never promoted
    scored(0.99)
    assert training_data().n_pseudo == 0
