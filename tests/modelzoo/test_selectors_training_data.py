"""What training is given: people's labels, and the photos self-training may label."""

import pytest

from factories import make_image
from modelzoo.selectors import training_data, training_images_unlabelled
from quiz.models import Image, Label, Split

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


def test_it_gives_suspect_labels_the_configured_lower_weight(settings):
    settings.TRAIN_SUSPECT_WEIGHT = 0.3
    clean = make_image(label=Label.CORROSION)
    doubted = make_image(label=Label.CORROSION)
    Image.objects.filter(pk=doubted.pk).update(label_suspect_score=0.8)
    make_image(split=Split.VALIDATION, label=Label.CORROSION)
    data = training_data()
    assert dict(zip(data.train_image_ids, data.train_weights, strict=True)) == {clean.pk: 1.0, doubted.pk: 0.3}


def test_it_weighs_nothing_when_no_label_is_suspect_or_the_weight_is_one(settings):
    settings.TRAIN_SUSPECT_WEIGHT = 0.3
    doubted = make_image(label=Label.CORROSION)
    assert training_data().train_weights is None
    Image.objects.filter(pk=doubted.pk).update(label_suspect_score=0.8)
    settings.TRAIN_SUSPECT_WEIGHT = 1.0
    assert training_data().train_weights is None
