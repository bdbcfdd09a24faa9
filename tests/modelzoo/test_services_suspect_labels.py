"""Suspect labels: out-of-fold scores, confident learning, and the marks the quiz, admin and training read."""

import numpy as np
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from factories import make_image
from modelzoo import services
from modelzoo.errors import NoTrainingData
from modelzoo.management.commands import find_suspect_labels as command
from modelzoo.ml.cross_validation import out_of_fold_probabilities
from modelzoo.ml.noisy_labels import find_label_issues
from modelzoo.services import suspect_labels_find, suspect_labels_mark
from quiz.models import Image, Label, Split
from quiz.services.images import image_set_expert_label

pytestmark = pytest.mark.django_db
TINY = {"epochs": 2, "width": 4, "input_size": 32, "batch_size": 8, "lr": 3e-3, "warmup_epochs": 0.5}


def labelled(count=12):
    return [make_image(label=Label.CORROSION if i % 2 else Label.NO_CORROSION) for i in range(count)]


class FakeScores:
    """Out-of-fold scores that agree with every label but those of `wrong` (image ids)."""

    def __init__(self, wrong=()):
        self.wrong = set(wrong)
        self.calls = []

    def __call__(self, items, config, *, folds, seed):
        self.calls.append({"n": len(items), "config": config, "folds": folds, "seed": seed})
        paths = {Image.objects.get(pk=pk).file.path: pk for pk in Image.objects.values_list("pk", flat=True)}
        scores = []
        for source, label in items:
            agree = 0.9 if label else 0.1
            scores.append(1 - agree if paths[source] in self.wrong else agree)
        return np.array(scores)


def test_it_marks_the_labels_the_out_of_fold_scores_contradict():
    images = labelled()
    wrong = [images[1].pk, images[4].pk]  # one corrosion, one no-corrosion label
    outcome = suspect_labels_find(probabilities=FakeScores(wrong))
    marked = Image.objects.filter(label_suspect_score__isnull=False)
    assert sorted(marked.values_list("pk", flat=True)) == sorted(wrong)
    assert all(image.label_suspect_score == pytest.approx(0.9) for image in marked)
    assert all(image.label_suspected_at is not None for image in marked)
    assert (outcome.n_images, outcome.n_suspects, outcome.n_cleared) == (12, 2, 0)
    assert outcome.noise_rates == {
        "no_corrosion": pytest.approx(1 / 6, abs=1e-3),
        "corrosion": pytest.approx(1 / 6, abs=1e-3),
    }


def test_it_clears_the_marks_of_an_earlier_search_and_keeps_the_date_of_a_repeated_one():
    images = labelled()
    suspect_labels_find(probabilities=FakeScores([images[1].pk, images[4].pk]))
    first = Image.objects.get(pk=images[1].pk).label_suspected_at
    outcome = suspect_labels_find(probabilities=FakeScores([images[1].pk, images[6].pk]))
    marked = Image.objects.filter(label_suspect_score__isnull=False)
    assert sorted(marked.values_list("pk", flat=True)) == sorted([images[1].pk, images[6].pk])
    assert Image.objects.get(pk=images[1].pk).label_suspected_at == first
    assert Image.objects.get(pk=images[4].pk).label_suspected_at is None
    assert (outcome.n_suspects, outcome.n_cleared) == (2, 1)


def test_it_never_marks_an_expert_label_and_an_expert_decision_settles_a_mark():
    images = labelled()
    image_set_expert_label(image_id=images[1].pk, label=Label.CORROSION)
    suspect_labels_find(probabilities=FakeScores([images[1].pk, images[3].pk]))
    assert not Image.objects.get(pk=images[1].pk).label_suspect_score
    assert Image.objects.get(pk=images[3].pk).label_suspect_score is not None
    image_set_expert_label(image_id=images[3].pk, label=Label.NO_CORROSION)
    settled = Image.objects.get(pk=images[3].pk)
    assert settled.label_suspect_score is None and settled.label_suspected_at is None


def test_it_leaves_unmarked_an_image_whose_label_changed_while_it_was_judged():
    image = make_image(label=Label.CORROSION)
    Image.objects.filter(pk=image.pk).update(effective_label=Label.NO_CORROSION)  # votes came in meanwhile
    assert suspect_labels_mark(suspects={image.pk: (Label.CORROSION, 0.8)}) == (0, 0)
    assert Image.objects.get(pk=image.pk).label_suspect_score is None


def test_it_scores_only_labelled_training_images_with_the_cheaper_fold_configuration(settings):
    settings.TRAINING_CONFIG = {"epochs": 30, "width": 8}
    settings.SUSPECT_LABELS_CONFIG = {"epochs": 4}
    labelled()
    make_image(label=None)
    make_image(split=Split.VALIDATION, label=Label.CORROSION)
    make_image(label=Label.CORROSION, excluded=True)
    scores = FakeScores()
    suspect_labels_find(probabilities=scores, folds=4, config={"seed": 7})
    (call,) = scores.calls
    assert call["n"] == 12 and call["folds"] == 4
    assert (call["config"].epochs, call["config"].width, call["config"].seed) == (4, 8, 7)


def test_it_refuses_clearly_with_too_few_labelled_images_of_a_class():
    make_image(label=Label.CORROSION)
    make_image(label=Label.NO_CORROSION)
    with pytest.raises(NoTrainingData, match="at least 3 labelled training images of each class"):
        suspect_labels_find(probabilities=FakeScores())
    assert not Image.objects.filter(label_suspect_score__isnull=False).exists()


def test_it_finds_suspects_with_real_fold_models_on_generated_photos(settings):
    settings.TRAINING_CONFIG = {}
    settings.SUSPECT_LABELS_CONFIG = {**TINY, "progress": False}
    images = labelled(16)
    flipped = make_image(label=Label.CORROSION)
    # A no-corrosion photo imported as corrosion: the wrong label the search is for.
    Image.objects.filter(pk=flipped.pk).update(file=images[0].file.name)
    scored = {}

    def real(items, config, *, folds, seed):
        scored["labels"] = np.array([label for _, label in items])
        scored["p"] = out_of_fold_probabilities(items, config, folds=folds, seed=seed)
        return scored["p"]

    outcome = suspect_labels_find(folds=2, probabilities=real)
    ids = sorted(image.pk for image in [*images, flipped])
    assert outcome.n_images == 17 and len(scored["p"]) == 17 and np.isfinite(scored["p"]).all()
    marked = set(Image.objects.filter(label_suspect_score__isnull=False).values_list("pk", flat=True))
    # What the real fold models scored is what was marked. (Whether two-epoch models on 16 photos catch the
    # flipped copy is left to chance: detection quality is tested on synthetic scores and measured on the real set.)
    assert marked == {ids[i] for i in find_label_issues(scored["labels"], scored["p"]).indices}
    assert len(marked) <= 17 // 2


def test_its_command_reports_what_it_found(monkeypatch, capsys):
    images = labelled()
    fake = FakeScores([images[1].pk])

    def find(**kwargs):
        assert kwargs["folds"] == 3 and kwargs["config"] == {"epochs": 2}
        return suspect_labels_find(**{**kwargs, "probabilities": fake})

    monkeypatch.setattr(command, "suspect_labels_find", find)
    call_command("find_suspect_labels", "--folds", "3", "--epochs", "2")
    assert "1 suspect labels among 12 training images" in capsys.readouterr().out
    with pytest.raises(CommandError, match="--folds"):
        call_command("find_suspect_labels", "--folds", "1")


def test_its_command_fails_clearly_without_data():
    with pytest.raises(CommandError, match="each class"):
        call_command("find_suspect_labels")


def test_it_queues_a_search_after_a_training_run_when_asked(settings, django_capture_on_commit_callbacks, monkeypatch):
    from modelzoo import tasks

    queued = []
    monkeypatch.setattr(tasks.suspect_labels_find_task, "delay", lambda: queued.append(True))
    with django_capture_on_commit_callbacks(execute=True):
        services.suspect_labels_request()
    assert queued == [True]


def test_it_passes_the_suspects_lower_weights_to_training(settings, monkeypatch):
    from modelzoo.ml import trainer
    from modelzoo.selectors import training_data

    settings.TRAIN_SUSPECT_WEIGHT = 0.25
    images = labelled(4)
    Image.objects.filter(pk=images[1].pk).update(label_suspect_score=0.9)
    make_image(split=Split.VALIDATION, label=Label.CORROSION)
    calls = []

    def spy(train_items, val_items, config, *, on_epoch=None, **weights):
        calls.append(weights)
        return type("Result", (), {"config": {}})()

    monkeypatch.setattr(trainer, "train", spy)
    result, _ = services._fit(training_data(), trainer.TrainConfig(), None)
    assert calls == [{"sample_weights": [1.0, 0.25, 1.0, 1.0]}]
    assert result.config["suspect_labels"] == {"weight": 0.25, "n_down_weighted": 1}
    settings.TRAIN_SUSPECT_WEIGHT = 1.0
    services._fit(training_data(), trainer.TrainConfig(), None)
    assert calls[-1] == {}  # nothing passed: runs on a trainer without sample_weights too
