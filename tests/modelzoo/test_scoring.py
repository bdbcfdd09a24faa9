"""The active model's scores on images still needing votes (uncertainty-first selection)."""

import pytest

from factories import make_image
from modelzoo.scoring import images_score_unlabelled
from quiz.models import Image, Label, Split

pytestmark = pytest.mark.django_db


@pytest.fixture
def pool():
    return {
        "unlabelled": [make_image(label=None) for _ in range(5)],
        "imported": [make_image(label=Label.CORROSION)],
        "crowd": [make_image(label=None, votes_yes=5, vote_count=5)],
        "gold": [make_image(split=Split.VALIDATION)],
        "excluded": [make_image(label=None, excluded=True)],
    }


def scored_ids():
    return set(Image.objects.filter(model_version__isnull=False).values_list("id", flat=True))


def test_it_scores_only_images_that_still_need_votes(active_model, pool):
    progress = images_score_unlabelled()
    assert progress.finished and progress.scored == 6
    assert scored_ids() == {i.id for i in pool["unlabelled"] + pool["imported"]}
    for image in Image.objects.filter(model_version__isnull=False):
        assert image.model_version == active_model.version
        assert 0.0 <= image.model_probability <= 1.0
        assert image.model_margin == pytest.approx(abs(image.model_probability - 0.5), abs=1e-5)


def test_it_gives_the_same_probability_as_classifying_an_upload(active_model, pool):
    from modelzoo.inference import classifier_for

    images_score_unlabelled()
    image = Image.objects.get(pk=pool["unlabelled"][0].pk)
    with image.file.open("rb") as handle:
        expected = classifier_for(active_model).classify([handle.read()])[0].probability
    assert image.model_probability == pytest.approx(expected, abs=1e-5)


def test_it_works_in_slices_and_skips_what_this_version_scored(active_model, pool):
    first = images_score_unlabelled(max_images=4, batch_size=3)
    assert (first.scored, first.finished) == (4, False)
    second = images_score_unlabelled(after_id=first.last_id, max_images=4)
    assert second.scored == 2 and len(scored_ids()) == 6
    assert images_score_unlabelled().scored == 0  # all done by this version already


def test_it_does_nothing_for_a_version_that_is_no_longer_active(active_model, pool):
    assert images_score_unlabelled(version_id=active_model.pk + 1).scored == 0
    assert scored_ids() == set()


def test_it_does_nothing_without_an_active_model(pool):
    assert images_score_unlabelled().scored == 0


def test_it_leaves_an_image_with_a_missing_file_unscored_and_goes_on(active_model, pool):
    from django.core.files.storage import default_storage

    broken = pool["unlabelled"][0]
    default_storage.delete(broken.file.name)
    assert images_score_unlabelled().finished
    assert scored_ids() == {i.id for i in pool["unlabelled"][1:] + pool["imported"]}


def test_the_task_scores_the_whole_pool_in_process(active_model, pool):
    from modelzoo.tasks import images_score_unlabelled as task

    task.delay(active_model.pk)
    assert len(scored_ids()) == 6


def test_the_task_keeps_the_name_queued_messages_carry():
    from corrosiondetector.celery import app
    from modelzoo.tasks import images_score_unlabelled as task

    # Its name from when quiz owned it: a message queued before the move must still find it.
    assert task.name == "quiz.tasks.images_score_unlabelled"
    assert app.tasks[task.name].__module__ == "modelzoo.tasks"
    assert app.amqp.router.route({}, task.name)["queue"].name == "inference"
