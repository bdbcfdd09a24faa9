"""What training is given: people's labels, and the photos self-training may label."""

import pytest

from factories import make_image
from modelzoo.selectors import training_data, training_images_unlabelled
from quiz.models import Label, Split

pytestmark = pytest.mark.django_db


def test_it_offers_self_training_only_unlabelled_training_photos_that_are_not_excluded():
    make_image(label=Label.NO_CORROSION)
    make_image(split=Split.VALIDATION, label=Label.CORROSION)
    make_image(label=None, excluded=True)
    waiting = [make_image(label=None), make_image(label=None)]
    offered = training_images_unlabelled()
    assert [image_id for image_id, _ in offered] == [image.pk for image in waiting]
    assert [source for _, source in offered] == [image.file.path for image in waiting]


def test_it_trains_on_labelled_training_photos_and_validates_on_expert_ones():
    make_image(label=Label.NO_CORROSION)
    make_image(label=None)
    make_image(split=Split.VALIDATION, label=Label.CORROSION)
    data = training_data()
    assert [label for _, label in data.train] == [0] and [label for _, label in data.validation] == [1]
