"""What the simulation writes: curve.csv, curve.png and a summary table."""

from __future__ import annotations

import csv
from dataclasses import asdict, dataclass
from pathlib import Path

from simulation.runner import PAPER, PAPER_VOTES, SMOOTHING, CurveRow, smoothed_reached, smoothed_target

PUBLISHED = {"votes": PAPER_VOTES, "start": 0.66, "end": 0.93}


@dataclass(frozen=True)
class StrategySummary:
    strategy: str
    final_votes: int
    final_accuracy: float
    smoothed_final_accuracy: float | None
    votes_to_paper: int | None  # first milestone whose last SMOOTHING retrains average `paper`'s smoothed end
    votes_to_paper_single: int | None  # first single retrain at or above it (noisier, flattering)
    votes_to_93: int | None
    final_labels: int
    final_label_accuracy: float | None
    votes_to_paper_correct_labels: int | None  # votes to as many right crowd labels as `paper` ended with
    final_pseudo_labels: int = 0  # photos the last retrain labelled itself (self-training)
    final_pseudo_label_accuracy: float | None = None


def votes_to_reach(rows: list[CurveRow], accuracy: float) -> int | None:
    """The first milestone at which a retrained model reached `accuracy` (no interpolation: a conservative count)."""
    return next((row.votes for row in rows if row.votes > 0 and row.val_accuracy >= accuracy - 1e-9), None)


def correct_labels(row: CurveRow) -> float:
    return row.labelled_images * (row.crowd_label_accuracy or 0.0)


def summarise(rows: list[CurveRow]) -> tuple[float | None, list[StrategySummary]]:
    by_strategy: dict[str, list[CurveRow]] = {}
    for row in rows:
        by_strategy.setdefault(row.strategy, []).append(row)
    paper_rows = by_strategy.get(PAPER, [])
    target = smoothed_target(paper_rows)
    paper_right = correct_labels(paper_rows[-1]) if paper_rows else None
    summaries = []
    for name, strategy_rows in by_strategy.items():
        last = strategy_rows[-1]
        summaries.append(
            StrategySummary(
                strategy=name,
                final_votes=last.votes,
                final_accuracy=last.val_accuracy,
                smoothed_final_accuracy=smoothed_target(strategy_rows),
                votes_to_paper=None if target is None else smoothed_reached(strategy_rows, target),
                votes_to_paper_single=None if target is None else votes_to_reach(strategy_rows, target),
                votes_to_93=votes_to_reach(strategy_rows, PUBLISHED["end"]),
                final_labels=last.labelled_images,
                final_label_accuracy=last.crowd_label_accuracy,
                votes_to_paper_correct_labels=None
                if not paper_right
                else next((r.votes for r in strategy_rows if r.votes > 0 and correct_labels(r) >= paper_right), None),
                final_pseudo_labels=last.pseudo_labels,
                final_pseudo_label_accuracy=last.pseudo_label_accuracy,
            )
        )
    return target, summaries


def write_csv(rows: list[CurveRow], path: Path) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=CurveRow.FIELDS)
        writer.writeheader()
        for row in rows:
            writer.writerow(asdict(row))


def summary_markdown(rows: list[CurveRow]) -> str:
    target, summaries = summarise(rows)
    paper_votes = next((s.final_votes for s in summaries if s.strategy == PAPER), None)
    if target is None:
        head = "No `paper` run: no target to compare with.\n\n"
    else:
        head = (
            f"Target: `paper`'s validation accuracy at {paper_votes} votes, as the mean of its last {SMOOTHING} "
            f"retrains = {target:.1%}. A strategy reaches it at the first milestone where the mean of its last "
            f"{SMOOTHING} retrains does.\n\n"
        )

    def votes(value: int | None) -> str:
        return "not reached" if value is None else str(value)

    def share(value: int | None) -> str:
        return f"{value / paper_votes:.0%}" if value and paper_votes else "–"

    def right(count: int, accuracy: float | None) -> str:
        return f"{count} ({'–' if accuracy is None else f'{accuracy:.1%}'})"

    self_training = any(s.final_pseudo_labels for s in summaries)

    lines = [
        f"| strategy | votes run | accuracy, last retrain | mean of last {SMOOTHING} | votes to `paper`'s accuracy "
        "| share of `paper`'s votes | same, single retrain | votes to 93% | crowd labels (right) "
        "| votes to `paper`'s number of right labels |"
        + (" model's own labels, last retrain (right) |" * self_training),
        "|---|---|---|---|---|---|---|---|---|---|" + "---|" * self_training,
    ]
    for s in summaries:
        smoothed = "–" if s.smoothed_final_accuracy is None else f"{s.smoothed_final_accuracy:.1%}"
        lines.append(
            f"| {s.strategy} | {s.final_votes} | {s.final_accuracy:.1%} | {smoothed} | {votes(s.votes_to_paper)} | "
            f"{share(s.votes_to_paper)} | {votes(s.votes_to_paper_single)} | {votes(s.votes_to_93)} | "
            f"{right(s.final_labels, s.final_label_accuracy)} | {votes(s.votes_to_paper_correct_labels)} |"
            + (f" {right(s.final_pseudo_labels, s.final_pseudo_label_accuracy)} |" * self_training)
        )
    return head + "\n".join(lines) + "\n"


def write_plot(rows: list[CurveRow], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")  # no screen; set before pyplot is imported
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(figsize=(8, 5), dpi=120)
    strategies = list(dict.fromkeys(row.strategy for row in rows))
    for name in strategies:
        points = [row for row in rows if row.strategy == name]
        axes.plot(
            [row.votes for row in points],
            [100 * row.val_accuracy for row in points],
            marker="o",
            linewidth=2.2 if name == PAPER else 1.6,
            label=name,
        )
    axes.plot(
        [0, PUBLISHED["votes"]],
        [100 * PUBLISHED["start"], 100 * PUBLISHED["end"]],
        linestyle="--",
        color="grey",
        label="published: 66% → 93% at 2,539 votes",
    )
    axes.scatter([0, PUBLISHED["votes"]], [66, 93], color="grey", zorder=3)
    axes.axhline(93, linestyle=":", color="grey", linewidth=1)
    target, _ = summarise(rows)
    if target is not None:
        axes.axhline(100 * target, linestyle=":", color="C0", linewidth=1)
    axes.set_xlabel("crowd votes")
    axes.set_ylabel("validation accuracy (expert-labelled set), %")
    axes.set_title("Accuracy vs crowd votes (simulated volunteers, live site)")
    axes.grid(alpha=0.3)
    axes.legend(loc="lower right")
    figure.tight_layout()
    figure.savefig(path)
    pyplot.close(figure)
