"""Reproduce the paper's accuracy-vs-votes experiment with simulated volunteers on a live site."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from simulation.report import summary_markdown, write_csv, write_plot
from simulation.runner import STRATEGIES, SimulationConfig, simulate
from simulation.site import SiteError
from simulation.volunteers import DEFAULT_HARD_SHARE, DEFAULT_ROUNDS_MEAN, parse_profiles


class Command(BaseCommand):
    help = (
        "Simulated volunteers take the quiz of a live site (its own SQLite database, served by gunicorn) "
        "through the HTTP API; the site retrains at vote milestones. Writes OUT/curve.csv, curve.png, summary.md."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dataset", type=Path, required=True, help="folder with train/ and validation/")
        parser.add_argument("--votes", type=int, default=2539, help="votes per strategy (the paper's 2,539)")
        parser.add_argument("--out", type=Path, required=True)
        parser.add_argument(
            "--strategy",
            nargs="+",
            choices=sorted(STRATEGIES),
            default=["paper", "weighted", "weighted_active", "weighted_active_self"],
            help="paper = majority of 5 + random selection",
        )
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--seed-images", type=int, default=600, help="training images that start labelled")
        parser.add_argument("--milestone-every", type=int, default=250, help="retrain every N votes")
        parser.add_argument("--baseline-epochs", type=int, default=1, help="the launch model's epochs (paper: 1)")
        parser.add_argument("--retrain-epochs", type=int, help="default: the training configuration's")
        parser.add_argument("--retrain-lr", type=float, help="default: the training configuration's (paper: 1e-4)")
        parser.add_argument(
            "--profiles",
            help="volunteer mix as name:share:accuracy_easy:accuracy_hard,... (default: "
            "expert:0.1:0.97:0.85, casual:0.7:0.9:0.5, careless:0.2:0.5:0.5)",
        )
        parser.add_argument("--hard-share", type=float, default=DEFAULT_HARD_SHARE, help="share of hard images")
        parser.add_argument("--rounds-mean", type=float, default=DEFAULT_ROUNDS_MEAN, help="rounds per volunteer")
        parser.add_argument(
            "--run-all-votes",
            action="store_true",
            help="run every strategy to --votes (default: stop one once it matches paper's final accuracy)",
        )
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, **options):
        config = self._config(options)
        _plotting_available()
        config.out.mkdir(parents=True, exist_ok=True)
        bars: dict[str, tqdm] = {}

        def progress(strategy: str, votes: int, total: int) -> None:
            bar = bars.get(strategy)
            if bar is None:
                for other in bars.values():
                    other.close()
                bar = bars[strategy] = tqdm(total=total, desc=strategy, unit="vote")
            bar.update(min(votes, total) - bar.n)

        def log(message: str) -> None:
            (tqdm.write if bars else self.stdout.write)(message)

        try:
            rows = simulate(config, progress=None if options["no_progress"] else progress, log=log)
        except (SiteError, FileNotFoundError, ValueError) as error:
            raise CommandError(str(error)) from None
        finally:
            for bar in bars.values():
                bar.close()
        write_csv(rows, config.out / "curve.csv")
        write_plot(rows, config.out / "curve.png")
        summary = summary_markdown(rows)
        (config.out / "summary.md").write_text(summary)
        self.stdout.write(summary)
        self.stdout.write(self.style.SUCCESS(f"Wrote {config.out / 'curve.csv'}, curve.png and summary.md"))

    def _config(self, options) -> SimulationConfig:
        for name in ("votes", "milestone_every", "baseline_epochs"):
            if options[name] < 1:
                raise CommandError(f"--{name.replace('_', '-')} must be at least 1")
        if options["seed_images"] < 0:
            raise CommandError("--seed-images must be 0 or more")
        if options["retrain_epochs"] is not None and options["retrain_epochs"] < 1:
            raise CommandError("--retrain-epochs must be at least 1")
        if not 0 <= options["hard_share"] <= 1:
            raise CommandError("--hard-share must lie in [0, 1]")
        if not options["dataset"].is_dir():
            raise CommandError(f"{options['dataset']} is not a directory")
        extra = {}
        if options["profiles"]:
            try:
                extra["profiles"] = parse_profiles(options["profiles"])
            except ValueError as error:
                raise CommandError(str(error)) from None
        return SimulationConfig(
            dataset=options["dataset"],
            out=options["out"],
            votes=options["votes"],
            strategies=options["strategy"],
            seed=options["seed"],
            seed_images=options["seed_images"],
            milestone_every=options["milestone_every"],
            baseline_epochs=options["baseline_epochs"],
            retrain_epochs=options["retrain_epochs"],
            retrain_lr=options["retrain_lr"],
            hard_share=options["hard_share"],
            rounds_mean=options["rounds_mean"],
            stop_when_reached=not options["run_all_votes"],
            **extra,
        )


def _plotting_available() -> None:
    # Checked before the run, not after its hours: matplotlib is left out of the production images.
    if importlib.util.find_spec("matplotlib") is None:
        raise CommandError("the simulation plots with matplotlib: pip install -r requirements-simulation.txt")
