import csv
from dataclasses import replace
from pathlib import Path

import pytest

from simulation.report import summarise, summary_markdown, votes_to_reach, write_csv, write_plot
from simulation.runner import CurveRow, SimulationConfig


def row(strategy, votes, accuracy, labelled=0):
    return CurveRow(
        strategy=strategy,
        votes=votes,
        labelled_images=labelled,
        crowd_label_accuracy=0.9 if labelled else None,
        model_version=votes // 250 + 1,
        model_status="active",
        val_accuracy=accuracy,
        n_train_images=600 + labelled,
        training_seconds=1.0,
        wall_seconds=votes / 10,
    )


CURVES = [
    row("paper", 0, 0.66),
    row("paper", 500, 0.80, 80),
    row("paper", 1000, 0.84, 170),
    row("paper", 1500, 0.83, 250),
    row("paper", 2000, 0.86, 340),
    row("paper", 2539, 0.85, 430),
    row("weighted_active", 0, 0.66),
    row("weighted_active", 500, 0.86, 120),  # one lucky retrain
    row("weighted_active", 1000, 0.83, 250),
    row("weighted_active", 1500, 0.85, 380),
    row("weighted_active", 2000, 0.87, 500),
]


def test_it_counts_votes_to_the_first_milestone_that_reaches_an_accuracy():
    assert votes_to_reach(CURVES[6:], 0.86) == 500
    assert votes_to_reach(CURVES[6:], 0.87) == 2000
    assert votes_to_reach(CURVES[6:], 0.95) is None
    # The launch model (0 votes) never counts as reaching a target.
    assert votes_to_reach(CURVES[6:], 0.5) == 500


def test_it_compares_strategies_on_the_mean_of_the_last_three_retrains():
    target, summaries = summarise(CURVES)
    assert target == pytest.approx((0.83 + 0.86 + 0.85) / 3)
    by_name = {s.strategy: s for s in summaries}
    assert by_name["paper"].votes_to_paper == 2539
    # The lucky single retrain at 500 votes does not count; the three-retrain mean gets there at 1500.
    assert by_name["weighted_active"].votes_to_paper_single == 500
    assert by_name["weighted_active"].votes_to_paper == 1500
    assert by_name["weighted_active"].votes_to_93 is None
    # Right crowd labels: paper ends with 430 × 0.9 = 387; weighted_active passes that at 500 labels (2000 votes).
    assert by_name["weighted_active"].votes_to_paper_correct_labels == 2000
    table = summary_markdown(CURVES)
    assert "| paper | 2539 | 85.0% | 84.7% | 2539 | 100% |" in table


def test_it_shows_the_models_own_labels_only_when_a_strategy_self_trained():
    assert "model's own labels" not in summary_markdown(CURVES)
    self_trained = replace(CURVES[-1], strategy="weighted_active_self", pseudo_labels=700, pseudo_label_accuracy=0.9)
    table = summary_markdown([*CURVES, self_trained])
    assert "model's own labels" in table
    assert table.splitlines()[-1].endswith("| 700 (90.0%) |") and "| 0 (–) |" in table


def test_it_writes_the_curve_as_csv_and_png(tmp_path):
    write_csv(CURVES, tmp_path / "curve.csv")
    with (tmp_path / "curve.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [r["strategy"] for r in rows] == [r.strategy for r in CURVES]
    assert {"strategy", "votes", "labelled_images", "model_version", "val_accuracy"} <= set(rows[0])
    write_plot(CURVES, tmp_path / "curve.png")
    assert (tmp_path / "curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_it_retrains_at_every_milestone_and_at_the_end():
    config = SimulationConfig(dataset=Path("."), out=Path("."), votes=2539, milestone_every=500)
    assert config.milestones() == [500, 1000, 1500, 2000, 2539]
    assert SimulationConfig(dataset=Path("."), out=Path("."), votes=2539).milestones()[-3:] == [2000, 2250, 2539]
