"""Run the crowd experiment: one base site, then per strategy a copy of it that simulated volunteers
vote on through HTTP, retrained through `manage.py train` at vote milestones."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from simulation.dataset import TruthImage, dataset_load, seed_sample, stage_folders
from simulation.site import QuizClient, Site, SiteError
from simulation.volunteers import DEFAULT_HARD_SHARE, DEFAULT_PROFILES, Profile, crowd, image_is_hard

# Each strategy is nothing but the live site's settings: the simulation tests what the site really does.
STRATEGIES: dict[str, dict[str, str]] = {
    "paper": {"QUIZ_AGGREGATION": "majority", "QUIZ_SELECTION": "random"},
    "weighted": {"QUIZ_AGGREGATION": "weighted", "QUIZ_SELECTION": "random"},
    "active": {"QUIZ_AGGREGATION": "majority", "QUIZ_SELECTION": "uncertain"},
    "weighted_active": {"QUIZ_AGGREGATION": "weighted", "QUIZ_SELECTION": "uncertain"},
    # Cost-effective active learning (Wang et al. 2016): people label what the model is unsure of, the
    # model labels for itself what it is sure of (TRAIN_PSEUDO_LABEL_CONFIDENCE).
    "weighted_active_self": {
        "QUIZ_AGGREGATION": "weighted",
        "QUIZ_SELECTION": "uncertain",
        "TRAIN_PSEUDO_LABEL_CONFIDENCE": "0.8",
    },
}
PAPER = "paper"
PAPER_VOTES = 2539
# Retrains averaged to compare strategies: one retrain's accuracy moves ±1–2 points with the data alone.
SMOOTHING = 3


@dataclass
class SimulationConfig:
    dataset: Path
    out: Path
    votes: int = PAPER_VOTES
    strategies: Sequence[str] = ("paper", "weighted", "weighted_active", "weighted_active_self")
    seed: int = 0
    seed_images: int = 600
    milestone_every: int = 250
    baseline_epochs: int = 1
    retrain_epochs: int | None = None
    retrain_lr: float | None = None
    profiles: Sequence[Profile] = DEFAULT_PROFILES
    hard_share: float = DEFAULT_HARD_SHARE
    rounds_mean: float = 8.0
    # Stop a strategy once its last SMOOTHING retrains average what `paper` ended at: the question is how many
    # votes it needs, and every retrain costs minutes.
    stop_when_reached: bool = True
    extra_env: dict[str, str] = field(default_factory=dict)

    def milestones(self) -> list[int]:
        # No regular mark just before the end: a retrain 39 votes before the last one would say nothing new.
        last_regular = self.votes - self.milestone_every // 2
        marks = [mark for mark in range(self.milestone_every, self.votes, self.milestone_every) if mark <= last_regular]
        return marks + [self.votes]


@dataclass
class CurveRow:
    strategy: str
    votes: int
    labelled_images: int
    crowd_label_accuracy: float | None
    model_version: int
    model_status: str
    val_accuracy: float
    n_train_images: int
    training_seconds: float
    wall_seconds: float
    pseudo_labels: int = 0  # of n_train_images, labelled by the model itself (self-training)
    pseudo_label_accuracy: float | None = None  # share of those the folder names agree with

    FIELDS = (
        "strategy",
        "votes",
        "labelled_images",
        "crowd_label_accuracy",
        "model_version",
        "model_status",
        "val_accuracy",
        "n_train_images",
        "training_seconds",
        "wall_seconds",
        "pseudo_labels",
        "pseudo_label_accuracy",
    )


Progress = Callable[[str, int, int], None]


def simulate(config: SimulationConfig, *, progress: Progress | None = None, log: Callable[[str], None] = print):
    unknown = [name for name in config.strategies if name not in STRATEGIES]
    if unknown:
        raise ValueError(f"unknown strategies {unknown}; choose from {sorted(STRATEGIES)}")
    images = dataset_load(config.dataset)
    truth = {image.sha256: image for image in images}
    base, baseline = _base_site(config, images, log)
    # `paper` first: the others are measured against where it ends.
    order = sorted(config.strategies, key=lambda name: name != PAPER)
    rows: list[CurveRow] = []
    target = None
    for name in order:
        finished = config.out / "sites" / name / "rows.json"
        strategy_rows = _saved_rows(finished, config)
        if strategy_rows is not None:
            log(f"{name}: reusing its finished run in {finished.parent}")
        else:
            site = base.copy_to(config.out / "sites" / name, {**config.extra_env, **STRATEGIES[name]})
            started = time.monotonic()
            stop_at = target if (config.stop_when_reached and name != PAPER) else None
            strategy_rows = [_row(name, 0, site, truth, baseline, started)]
            strategy_rows += _run_strategy(name, site, config, truth, started, stop_at, progress, log)
            finished.write_text(
                json.dumps({"run": _run_fingerprint(config), "rows": [asdict(r) for r in strategy_rows]})
            )
        rows += strategy_rows
        if name == PAPER:
            target = smoothed_target(strategy_rows)
    return rows


def smoothed_target(paper_rows: list[CurveRow]) -> float | None:
    """What `paper` reached at the end, as the mean of its last SMOOTHING retrains (one retrain is noisy)."""
    accuracies = [row.val_accuracy for row in paper_rows if row.votes > 0][-SMOOTHING:]
    return sum(accuracies) / len(accuracies) if accuracies else None


def smoothed_reached(rows: list[CurveRow], target: float) -> int | None:
    """Votes at the first milestone where the mean of the last SMOOTHING retrains reaches `target`."""
    retrains = [row for row in rows if row.votes > 0]
    for end in range(SMOOTHING, len(retrains) + 1):
        window = retrains[end - SMOOTHING : end]
        if sum(row.val_accuracy for row in window) / SMOOTHING >= target - 1e-9:
            return window[-1].votes
    return None


def _run_fingerprint(config: SimulationConfig) -> dict:
    return {
        "votes": config.votes,
        "seed": config.seed,
        "milestone_every": config.milestone_every,
        "retrain_epochs": config.retrain_epochs,
        "retrain_lr": config.retrain_lr,
        "profiles": [asdict(profile) for profile in config.profiles],
        "hard_share": config.hard_share,
        "rounds_mean": config.rounds_mean,
        "stop_when_reached": config.stop_when_reached,
    }


def _saved_rows(path: Path, config: SimulationConfig) -> list[CurveRow] | None:
    """A strategy finished by an earlier, identical invocation (so a long experiment can be resumed)."""
    if not path.exists():
        return None
    saved = json.loads(path.read_text())
    if saved.get("run") != _run_fingerprint(config):
        return None
    return [CurveRow(**row) for row in saved["rows"]]


def _base_site(config: SimulationConfig, images: list[TruthImage], log) -> tuple[Site, dict]:
    """Import the images and train the launch model once; every strategy starts from a copy."""
    workdir = config.out / "base"
    site = Site(workdir, config.extra_env)
    marker = workdir / "baseline.json"
    fingerprint = {
        "dataset": str(config.dataset.resolve()),
        "images": len(images),
        "seed": config.seed,
        "seed_images": config.seed_images,
        "baseline_epochs": config.baseline_epochs,
    }
    if marker.exists():
        saved = json.loads(marker.read_text())
        if saved.get("fingerprint") == fingerprint:
            log(f"reusing the base site in {workdir}")
            site.manage("migrate", "--noinput")  # the code may have gained migrations since it was made
            return site, saved["baseline"]
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    seeds = seed_sample(images, count=config.seed_images, seed=config.seed)
    folders = stage_folders(images, seed_hashes=seeds, into=workdir / "staging")
    log(
        f"base site: {len(seeds)} labelled seed images, {sum(i.split == 'train' for i in images) - len(seeds)} "
        f"unlabelled, {sum(i.split == 'validation' for i in images)} expert validation images"
    )
    site.manage("migrate", "--noinput")
    quiet = ("--no-progress", "--jobs", "2")
    if seeds:
        site.manage("import_images", str(folders["seed"]), *quiet)
    if folders["pool"].exists():
        site.manage("import_images", str(folders["pool"]), "--unlabelled", *quiet)
    site.manage("import_images", str(folders["validation"]), "--split", "validation", "--expert", *quiet)
    # The paper launched with a model trained for one epoch at its learning rate.
    baseline = _train(site, epochs=config.baseline_epochs, lr=None, seed=config.seed)
    log(f"launch model v{baseline['version']}: validation accuracy {baseline['val_accuracy']:.1%}")
    marker.write_text(json.dumps({"fingerprint": fingerprint, "baseline": baseline}))
    return site, baseline


def _train(site: Site, *, epochs: int | None, lr: float | None, seed: int) -> dict:
    args = ["train", "--json", "--seed", str(seed)]
    if epochs is not None:
        args += ["--epochs", str(epochs)]
    if lr is not None:
        args += ["--lr", str(lr)]
    output = site.manage(*args)
    return json.loads(output.strip().splitlines()[-1])


def _run_strategy(name, site, config, truth, started, stop_at, progress, log) -> list[CurveRow]:
    rows: list[CurveRow] = []
    milestones = config.milestones()
    votes = 0

    def retrain() -> bool:
        """Train at the current vote count; whether the strategy should go on."""
        version = _train(site, epochs=config.retrain_epochs, lr=config.retrain_lr, seed=config.seed)
        row = _row(name, votes, site, truth, version, started, site.model_labels(version["version"]))
        rows.append(row)
        log(
            f"{name}: {votes} votes, {row.labelled_images} crowd labels ({_pct(row.crowd_label_accuracy)} right), "
            f"v{row.model_version} {row.val_accuracy:.1%} ({row.model_status})"
        )
        if stop_at is not None and smoothed_reached(rows, stop_at) is not None:
            log(f"{name}: its last {SMOOTHING} retrains average paper's {stop_at:.1%} at {votes} votes; stopping")
            return False
        return bool(milestones)

    volunteers = crowd(seed=config.seed, profiles=config.profiles, rounds_mean=config.rounds_mean)
    with site.serving() as base_url:
        going = True
        while going:
            volunteer = next(volunteers)
            client = QuizClient(base_url)
            for taken in range(volunteer.rounds):
                served = client.round()
                if not served["images"] and taken:
                    break  # this volunteer has seen every image; the next one starts afresh
                if not served["images"]:
                    log(f"{name}: the quiz ran out of images at {votes} votes")
                    if votes and (not rows or rows[-1].votes != votes):
                        milestones.clear()
                        retrain()
                    going = False
                    break
                ticked = [
                    image["id"]
                    for image in served["images"]
                    if _ticks(volunteer, truth[_sha_from_url(image["url"])], config)
                ]
                client.submit(token=served["round"], corrosion_ids=ticked)
                votes += len(served["images"])
                if progress:
                    progress(name, votes, config.votes)
                if votes >= milestones[0]:
                    while milestones and votes >= milestones[0]:
                        milestones.pop(0)
                    going = retrain()
                    if not going:
                        break
    return rows


def _ticks(volunteer, image: TruthImage, config: SimulationConfig) -> bool:
    hard = image_is_hard(image.sha256, hard_share=config.hard_share, seed=config.seed)
    return volunteer.ticks(corrosion=image.corrosion, hard=hard)


def _sha_from_url(url: str) -> str:
    # Stored names are content-addressed: images/ab/<sha256>.<ext>
    name = url.rsplit("/", 1)[-1]
    sha = name.split(".", 1)[0]
    if len(sha) != 64:
        raise SiteError(f"cannot tell which picture {url} is")
    return sha


def _row(
    name: str, votes: int, site: Site, truth: dict, version: dict, started: float, model_labels: dict | None = None
) -> CurveRow:
    labels = site.crowd_labels()
    model_labels = model_labels or {}
    return CurveRow(
        strategy=name,
        votes=votes,
        labelled_images=len(labels),
        crowd_label_accuracy=_share_right(labels, truth),
        model_version=version["version"],
        model_status=version["status"],
        val_accuracy=version["val_accuracy"],
        n_train_images=version["n_train_images"],
        training_seconds=version["training_seconds"],
        wall_seconds=round(time.monotonic() - started, 1),
        pseudo_labels=version.get("n_pseudo_labels", 0),
        pseudo_label_accuracy=_share_right(model_labels, truth),
    )


def _share_right(labels: dict[str, str], truth: dict) -> float | None:
    right = sum(truth[sha].label == label for sha, label in labels.items() if sha in truth)
    return right / len(labels) if labels else None


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"
