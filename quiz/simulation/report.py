"""What the simulation writes: curve.csv, curve.png and a summary table."""

from __future__ import annotations

import csv
from dataclasses import asdict, dataclass
from pathlib import Path

from quiz.simulation.runner import PAPER, PAPER_VOTES, CurveRow

PUBLISHED = {"votes": PAPER_VOTES, "start": 0.66, "end": 0.93}


@dataclass(frozen=True)
class StrategySummary:
    strategy: str
    final_votes: int
    final_accuracy: float
    best_accuracy: float
    votes_to_paper: int | None  # votes to reach what `paper` reached at its last milestone
    votes_to_93: int | None
    final_label_accuracy: float | None


def votes_to_reach(rows: list[CurveRow], accuracy: float) -> int | None:
    """The first milestone at which the retrained model reached `accuracy` (no interpolation: a conservative count)."""
    return next((row.votes for row in rows if row.votes > 0 and row.val_accuracy >= accuracy - 1e-9), None)


def summarise(rows: list[CurveRow]) -> tuple[float | None, list[StrategySummary]]:
    by_strategy: dict[str, list[CurveRow]] = {}
    for row in rows:
        by_strategy.setdefault(row.strategy, []).append(row)
    paper_rows = by_strategy.get(PAPER)
    target = paper_rows[-1].val_accuracy if paper_rows and paper_rows[-1].votes > 0 else None
    summaries = []
    for name, strategy_rows in by_strategy.items():
        last = strategy_rows[-1]
        summaries.append(
            StrategySummary(
                strategy=name,
                final_votes=last.votes,
                final_accuracy=last.val_accuracy,
                best_accuracy=max(row.val_accuracy for row in strategy_rows),
                votes_to_paper=None if target is None else votes_to_reach(strategy_rows, target),
                votes_to_93=votes_to_reach(strategy_rows, PUBLISHED["end"]),
                final_label_accuracy=last.crowd_label_accuracy,
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
    head = (
        f"Target: `paper`'s validation accuracy at {paper_votes} votes = {target:.1%}.\n\n"
        if target is not None
        else "No `paper` run: no target to compare with.\n\n"
    )
    lines = [
        "| strategy | votes run | accuracy at the end | best accuracy | votes to reach `paper`'s final accuracy "
        "| share of `paper`'s votes | votes to 93% | crowd labels right (end) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for s in summaries:
        share = f"{s.votes_to_paper / paper_votes:.0%}" if s.votes_to_paper and paper_votes else "–"
        lines.append(
            f"| {s.strategy} | {s.final_votes} | {s.final_accuracy:.1%} | {s.best_accuracy:.1%} | "
            f"{s.votes_to_paper if s.votes_to_paper is not None else 'not reached'} | {share} | "
            f"{s.votes_to_93 if s.votes_to_93 is not None else 'not reached'} | "
            f"{'–' if s.final_label_accuracy is None else f'{s.final_label_accuracy:.1%}'} |"
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
