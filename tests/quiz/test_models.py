import uuid

import pytest
from django.db import IntegrityError

from factories import make_image
from quiz.models import Image, Label, LabelSource, Split
from quiz.selectors import images_controversial
from quiz.services.votes import vote_set

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def majority(settings):
    settings.QUIZ_AGGREGATION = "majority"
    settings.QUIZ_MIN_VOTES = 5


def vote_n(image: Image, yes: int, no: int) -> None:
    """Votes from as many new voters, through the service; `image` is refreshed."""
    for corrosion in [True] * yes + [False] * no:
        vote_set(voter_key=uuid.uuid4(), image_id=image.pk, corrosion=corrosion)
    image.refresh_from_db()


def test_it_has_no_crowd_label_below_the_threshold():
    image = make_image(label=None)
    vote_n(image, yes=4, no=0)
    assert image.crowd_label is None
    assert image.effective_label is None


def test_it_takes_the_majority_once_the_threshold_is_reached():
    image = make_image(label=None)
    vote_n(image, yes=3, no=2)
    assert image.crowd_label == Label.CORROSION
    assert (image.effective_label, image.label_source) == (Label.CORROSION, LabelSource.CROWD)
    assert image.labelled_at is not None


def test_it_leaves_a_tie_undecided_until_broken():
    image = make_image(label=None)
    vote_n(image, yes=3, no=3)
    assert image.crowd_label is None
    vote_n(image, yes=0, no=1)
    assert image.crowd_label == Label.NO_CORROSION


def test_it_honours_a_configured_threshold(settings):
    settings.QUIZ_MIN_VOTES = 3
    image = make_image(label=None)
    vote_n(image, yes=2, no=0)
    assert image.crowd_label is None
    vote_n(image, yes=1, no=0)
    assert image.crowd_label == Label.CORROSION


def test_it_prefers_expert_over_crowd_over_imported():
    image = make_image(label=Label.NO_CORROSION)
    assert (image.effective_label, image.label_source) == (Label.NO_CORROSION, LabelSource.IMPORTED)
    vote_n(image, yes=5, no=0)
    assert (image.effective_label, image.label_source) == (Label.CORROSION, LabelSource.CROWD)
    image.expert_label = Label.NO_CORROSION
    image.refresh_effective_label()
    assert (image.effective_label, image.label_source) == (Label.NO_CORROSION, LabelSource.EXPERT)


def test_it_never_lets_votes_change_a_validation_images_label():
    image = make_image(split=Split.VALIDATION, label=Label.NO_CORROSION)
    vote_n(image, yes=9, no=0)
    assert image.crowd_label == Label.CORROSION
    assert image.effective_label == Label.NO_CORROSION


def test_it_computes_agreement_and_controversy():
    image = make_image(label=None)
    assert image.agreement is None
    vote_n(image, yes=3, no=2)
    assert image.agreement == pytest.approx(0.6)
    assert list(images_controversial(Image.objects.all())) == [image]
    vote_n(image, yes=5, no=0)
    assert image.agreement == pytest.approx(0.8)
    assert not images_controversial(Image.objects.all()).exists()


def test_it_refuses_a_validation_image_without_expert_label_in_the_database():
    image = make_image(label=Label.CORROSION)
    with pytest.raises(IntegrityError):
        Image.objects.filter(pk=image.pk).update(split=Split.VALIDATION)


def test_it_refuses_counters_that_do_not_add_up():
    image = make_image()
    with pytest.raises(IntegrityError):
        Image.objects.filter(pk=image.pk).update(votes_yes=2, vote_count=1)
