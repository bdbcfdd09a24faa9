import csv
from pathlib import Path

from quiz.simulation.report import summarise, summary_markdown, votes_to_reach, write_csv, write_plot
from quiz.simulation.runner import CurveRow, SimulationConfig


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
    row("paper", 1000, 0.80, 200),
    row("paper", 2539, 0.86, 500),
    row("weighted_active", 0, 0.66),
    row("weighted_active", 500, 0.83, 150),
    row("weighted_active", 1000, 0.87, 330),
]


def test_it_counts_votes_to_the_first_milestone_that_reaches_an_accuracy():
    assert votes_to_reach(CURVES[3:], 0.86) == 1000
    assert votes_to_reach(CURVES[3:], 0.83) == 500
    assert votes_to_reach(CURVES[3:], 0.95) is None
    # The launch model (0 votes) never counts as reaching a target.
    assert votes_to_reach(CURVES[3:], 0.5) == 500


def test_it_compares_each_strategy_with_where_paper_ends():
    target, summaries = summarise(CURVES)
    assert target == 0.86
    by_name = {s.strategy: s for s in summaries}
    assert by_name["paper"].votes_to_paper == 2539
    assert by_name["weighted_active"].votes_to_paper == 1000
    assert by_name["weighted_active"].votes_to_93 is None
    table = summary_markdown(CURVES)
    assert "| weighted_active | 1000 | 87.0% | 87.0% | 1000 | 39% |" in table


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
