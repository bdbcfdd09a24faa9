"""Noisy labels on the real photo set: out-of-fold predictions, confident learning, and what each remedy does.

    .venv/bin/python bench/noisy_labels.py [--data ../shared/data/corrosion] [--folds 3]
        [--oof-set epochs=4 lr=0.002] [--set epochs=6 lr=0.002] [--weight 0.5] [--oof-cache oof.json]

1. Out-of-fold P(corrosion) for every training photo (``cross_validation.out_of_fold_probabilities``, fold
   models trained with ``--oof-set``), cached in ``--oof-cache`` so a rerun can skip it.
2. Confident learning (``noisy_labels.find_label_issues``): how many suspects, per class and per source.
3. Three trainings with ``--set``, each scored on the expert validation set: (a) baseline, (b) suspects
   down-weighted to ``--weight``, (c) suspects removed.

No Django: reads the ImageFolder layout directly, like bench/train_real.py.
"""

from __future__ import annotations

import argparse
import csv
import inspect
import json
import os
import sys
import time
from collections import Counter

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch.nn import functional as F  # noqa: E402

from modelzoo.ml import calibration, data, trainer  # noqa: E402
from modelzoo.ml.cross_validation import out_of_fold_probabilities  # noqa: E402
from modelzoo.ml.noisy_labels import find_label_issues  # noqa: E402

sys.path.insert(0, os.path.join(REPO, "bench"))
from train_real import parse_overrides  # noqa: E402


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def rounded(row: dict) -> dict:
    return {key: round(value, 4) if isinstance(value, float) else value for key, value in row.items()}


def train_weighted(items, val_items, config, weights):
    """``trainer.train`` with per-item loss weights.

    Uses ``train(sample_weights=...)`` where the trainer has it; until then a bench-only stand-in multiplies
    each training image's loss by its weight inside the trainer's own loss (same normalisation).
    """
    if "sample_weights" in inspect.signature(trainer.train).parameters:
        return trainer.train(items, val_items, config, sample_weights=list(weights))
    labels = torch.tensor([label for _, label in items])
    kept, _ = calibration.selection_split(labels, config.selection_fraction, config.seed)
    kept_weights = torch.tensor(np.asarray(weights), dtype=torch.float32)[kept]
    original_state, original_loss = trainer._run_state, trainer._masked_loss

    def run_state(cached, config, device):
        state = original_state(cached, config, device)
        assert len(state.labels) == len(kept_weights)
        state.sample_weight = kept_weights.to(device)
        return state

    def masked_loss(state, index, logits, target, config):
        per_image = F.cross_entropy(
            logits.float(), target, weight=state.class_weight, label_smoothing=config.label_smoothing, reduction="none"
        )
        keep = state.keep[index].to(per_image.device).float()
        weight = state.sample_weight[index.to(state.sample_weight.device)].to(per_image.device)
        return (per_image * keep * weight).sum() / (state.class_weight[target] * keep).sum().clamp(min=1e-6)

    trainer._run_state, trainer._masked_loss = run_state, masked_loss
    try:
        return trainer.train(items, val_items, config)
    finally:
        trainer._run_state, trainer._masked_loss = original_state, original_loss


def summary(result) -> dict:
    return {
        "val_accuracy": round(result.val_accuracy, 4),
        "balanced_accuracy": round(result.balanced_accuracy, 4),
        "ece_calibrated": round(result.ece_calibrated, 4),
        "precision": {k: round(v, 3) for k, v in result.precision.items()},
        "recall": {k: round(v, 3) for k, v in result.recall.items()},
        "confusion": result.confusion,
        "best_epoch": result.best_epoch,
        "n_train": result.n_train,
        "seconds": round(result.wall_seconds, 1),
    }


def sources(data_dir: str) -> dict[str, str]:
    """File path (relative to the set) -> source repository, from the set's manifest."""
    path = os.path.join(data_dir, "manifest.csv")
    if not os.path.exists(path):
        return {}
    with open(path, newline="") as handle:
        return {row["file"]: row["source_repo"] for row in csv.DictReader(handle)}


def out_of_fold(args, train_items) -> np.ndarray:
    if args.oof_cache and os.path.exists(args.oof_cache):
        cached = json.load(open(args.oof_cache))
        if cached["files"] == [path for path, _ in train_items]:
            log(f"out-of-fold probabilities read from {args.oof_cache}")
            return np.asarray(cached["probabilities"])
    config = trainer.TrainConfig(**{**parse_overrides(args.oof_set), "progress": False})
    log(f"out-of-fold: {args.folds} folds, config {parse_overrides(args.oof_set)}")
    started = time.perf_counter()
    probabilities = out_of_fold_probabilities(
        train_items,
        config,
        folds=args.folds,
        on_fold=lambda row: log(
            f"  fold {json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()})}"
        ),
    )
    log(f"out-of-fold done in {time.perf_counter() - started:.0f} s")
    if args.oof_cache:
        with open(args.oof_cache, "w") as handle:
            json.dump({"files": [p for p, _ in train_items], "probabilities": probabilities.tolist()}, handle)
    return probabilities


def main(args: argparse.Namespace) -> None:
    train_items = data.image_folder_items(os.path.join(args.data, "train"))
    val_items = data.image_folder_items(os.path.join(args.data, "validation"))
    labels = np.array([label for _, label in train_items])
    log(f"{len(train_items)} training photos, {len(val_items)} validation photos, {data.available_cores()} cores")
    report: dict = {"args": vars(args)}

    config = trainer.TrainConfig(**{**parse_overrides(args.set), "progress": False})
    if args.only == "a":  # the baseline needs no out-of-fold scores: it can run beside the search
        log("training a_baseline")
        report["a_baseline"] = summary(trainer.train(train_items, val_items, config))
        log(f"a_baseline: {json.dumps(report['a_baseline'])}")
        if args.out:
            with open(args.out, "w") as handle:
                json.dump(report, handle, indent=1)
        return
    probabilities = out_of_fold(args, train_items)
    oof_accuracy = float(((probabilities >= 0.5).astype(int) == labels).mean())
    issues = find_label_issues(labels, probabilities)
    suspects = issues.indices
    by_class = Counter(data.CLASS_NAMES[labels[i]] for i in suspects)
    origin = sources(args.data)
    relative = [os.path.relpath(path, args.data) for path, _ in train_items]
    by_source = Counter(f"{origin.get(relative[i], '?')} [{data.CLASS_NAMES[labels[i]]}]" for i in suspects)
    report["out_of_fold"] = {
        "accuracy_vs_given_labels": round(oof_accuracy, 4),
        "thresholds": issues.thresholds.round(4).tolist(),
        "confident_joint": issues.confident_joint.tolist(),
        "noise_matrix": issues.noise_matrix.round(4).tolist(),
        "n_suspects": len(suspects),
        "suspects_by_label": dict(by_class),
        "suspects_by_source": dict(by_source.most_common()),
        "labelled_by_class": {data.CLASS_NAMES[k]: int((labels == k).sum()) for k in (0, 1)},
        "least_confident": [relative[i] for i in suspects[:15]],
    }
    log(json.dumps(report["out_of_fold"], indent=1))

    suspect = np.zeros(len(train_items), dtype=bool)
    suspect[suspects] = True
    runs = {
        "a_baseline": lambda: trainer.train(train_items, val_items, config),
        "b_down_weighted": lambda: train_weighted(train_items, val_items, config, np.where(suspect, args.weight, 1.0)),
        "c_removed": lambda: trainer.train(
            [item for item, s in zip(train_items, suspect, strict=True) if not s], val_items, config
        ),
    }
    for name, run in runs.items():
        if args.only and name[0] not in args.only:
            continue
        log(f"training {name} with {parse_overrides(args.set)}")
        report[name] = summary(run())
        log(f"{name}: {json.dumps(report[name])}")
        if args.out:
            with open(args.out, "w") as handle:
                json.dump(report, handle, indent=1)
    log("done")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.path.join(REPO, "..", "shared", "data", "corrosion"))
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--oof-set", nargs="*", default=["epochs=4", "lr=0.002"], metavar="FIELD=VALUE")
    parser.add_argument("--set", nargs="*", default=["epochs=6", "lr=0.002"], metavar="FIELD=VALUE")
    parser.add_argument("--weight", type=float, default=0.5, help="loss weight of a suspect label in run (b)")
    parser.add_argument("--oof-cache", default=None, help="JSON file to keep (and reuse) the out-of-fold predictions")
    parser.add_argument("--only", default="", help="letters of the runs to do, e.g. 'ab' (default: all)")
    parser.add_argument("--out", default=None, help="write the figures here as JSON")
    main(parser.parse_args())
