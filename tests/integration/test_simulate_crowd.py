"""The simulator end to end on a tiny generated image set: real gunicorn, real HTTP, real `manage.py train`."""

import csv
import sqlite3

import pytest
from django.core.management import call_command

from quiz.demo_images import make_demo_image
from simulation.runner import STRATEGIES

# Starts gunicorn and `manage.py` subprocesses and trains models: an outside harness, not a unit test.
pytestmark = pytest.mark.integration
TINY_TRAINING = '{"width": 4, "input_size": 32, "batch_size": 8}'


@pytest.fixture
def tiny_dataset(tmp_path):
    root = tmp_path / "data"
    for split, per_class in (("train", 12), ("validation", 4)):
        for label_index, label in enumerate(("corrosion", "no_corrosion")):
            folder = root / split / label
            folder.mkdir(parents=True)
            for i in range(per_class):
                seed = 1000 * label_index + 100 * (split == "validation") + i
                make_demo_image(label, seed=seed, size=(48, 36)).save(folder / f"{i}.jpg")
    return root


def test_it_runs_volunteers_through_a_live_site_and_writes_the_curve(tiny_dataset, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TRAINING_CONFIG", TINY_TRAINING)
    monkeypatch.setenv("QUIZ_MIN_VOTES", "3")
    out = tmp_path / "out"
    call_command(
        "simulate_crowd",
        "--dataset", str(tiny_dataset), "--out", str(out), "--votes", "36", "--milestone-every", "36",
        "--seed-images", "6", "--strategy", "paper", "--retrain-epochs", "1", "--rounds-mean", "1.5", "--no-progress",
    )  # fmt: skip
    with (out / "curve.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["strategy"], int(r["votes"]), int(r["model_version"])) for r in rows] == [
        ("paper", 0, 1),
        ("paper", 36, 2),
    ]
    assert all(0 <= float(r["val_accuracy"]) <= 1 for r in rows)
    # The votes went through the site: they are in its database, one per served image, from several cookies.
    with sqlite3.connect(out / "sites" / "paper" / "db.sqlite3") as db:
        (votes,) = db.execute("SELECT COUNT(*) FROM quiz_vote").fetchone()
        (counted,) = db.execute("SELECT SUM(vote_count) FROM quiz_image").fetchone()
        (voters,) = db.execute("SELECT COUNT(*) FROM quiz_voter").fetchone()
        (labelled,) = db.execute("SELECT COUNT(*) FROM quiz_image WHERE crowd_label IS NOT NULL").fetchone()
    assert votes == counted == 36
    assert voters >= 2
    assert int(rows[-1]["labelled_images"]) == labelled > 0
    assert (out / "curve.png").read_bytes()[:4] == b"\x89PNG"
    assert "votes to `paper`'s accuracy" in (out / "summary.md").read_text()


def test_it_records_the_labels_self_training_gave_and_how_many_were_right(tiny_dataset, tmp_path, monkeypatch):
    # A tiny teacher is rarely sure of anything: take any prediction off the fence.
    strategy = {**STRATEGIES["weighted_active_self"], "TRAIN_PSEUDO_LABEL_CONFIDENCE": "0.5001"}
    monkeypatch.setitem(STRATEGIES, "weighted_active_self", strategy)
    monkeypatch.setenv("TRAINING_CONFIG", TINY_TRAINING)
    monkeypatch.setenv("QUIZ_MIN_VOTES", "3")
    out = tmp_path / "out"
    call_command(
        "simulate_crowd",
        "--dataset", str(tiny_dataset), "--out", str(out), "--votes", "24", "--milestone-every", "24",
        "--seed-images", "6", "--strategy", "weighted_active_self", "--retrain-epochs", "1", "--rounds-mean", "1.5",
        "--no-progress",
    )  # fmt: skip
    with (out / "curve.csv").open() as handle:
        baseline, retrain = list(csv.DictReader(handle))
    assert int(baseline["pseudo_labels"]) == 0 and baseline["pseudo_label_accuracy"] == ""
    pseudo = int(retrain["pseudo_labels"])
    assert pseudo > 0 and 0 <= float(retrain["pseudo_label_accuracy"]) <= 1
    with sqlite3.connect(out / "sites" / "weighted_active_self" / "db.sqlite3") as db:
        (labelled,) = db.execute(
            "SELECT COUNT(*) FROM quiz_image WHERE split = 'train' AND effective_label IS NOT NULL AND NOT excluded"
        ).fetchone()
    assert int(retrain["n_train_images"]) == labelled + pseudo
