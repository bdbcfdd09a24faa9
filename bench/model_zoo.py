"""The model zoo table: architecture x input scale x tiling -> accuracy, balanced accuracy, ECE, time, size, speed.

    .venv/bin/python bench/model_zoo.py                                    # the default configuration only
    .venv/bin/python bench/model_zoo.py --config architecture=resnet18 input_size=128 epochs=10 \\
                                        --config architecture=paper view=centre input_size=96
    .venv/bin/python bench/model_zoo.py --tilings 0:max 2:max 2:mean --json runs.jsonl
    .venv/bin/python bench/model_zoo.py --onnx model.onnx --tilings 0:max 2:max 2:mean 3:max   # no training

Each ``--config`` is a set of TrainConfig overrides (space-separated FIELD=VALUE in one quoted argument or
following words up to the next ``--config``). Every configuration is trained once on the real set's ``train/``
(the selection slice held out of it chooses the epoch and fits the temperature), then its chosen model is scored
on ``validation/`` through each tiling in ``--tilings`` (``n:pooling``: the whole view plus n x n tiles pooled by
max or mean; inference only, the training is the same). The temperature is refitted for each tiling on the
selection slice, and the tiling to ship is the one with the best *selection* accuracy, never the validation one.
Inference ms per photo: onnxruntime, batch of one photo (all its views), two threads, median over 64 photos.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import replace

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

import torch  # noqa: E402
from train_real import parse_overrides  # noqa: E402

from modelzoo.ml import calibration, data, export, preprocessing, serving, trainer  # noqa: E402


def score_tiling(model, config, select_items, val_items, tiles: int, pooling: str) -> dict:
    variant = replace(config, tiles=tiles, pooling=pooling) if config.view == preprocessing.WHOLE else config
    logits = {}
    for name, items in (("select", select_items), ("val", val_items)):
        images, labels = data.build_view_cache(items, variant.views)
        normalise = data.Normaliser(torch.device("cpu"))
        logits[name] = (
            trainer.all_logits(model, images, config=variant, device=torch.device("cpu"), normalise=normalise),
            labels,
        )
    select_logits, select_labels = logits["select"]
    val_logits, val_labels = logits["val"]
    temperature = calibration.fit_temperature(select_logits, select_labels) if len(select_labels) >= 50 else 1.0
    val = trainer.logit_metrics(val_logits, val_labels)
    return {
        "tiles": tiles if config.view == preprocessing.WHOLE else "centre",
        "pooling": pooling,
        "selection_accuracy": trainer.classification_metrics(select_labels, select_logits.argmax(1))["val_acc"],
        "accuracy": val["val_acc"],
        "balanced_accuracy": calibration.balanced_accuracy(val["confusion"]),
        "ece_calibrated": calibration.expected_calibration_error((val_logits / temperature).softmax(1), val_labels),
        "temperature": temperature,
        "variant": variant,
    }


def onnx_size_and_speed(model, variant, temperature: float, val_items) -> tuple[float, float]:
    path = os.path.join(tempfile.mkdtemp(), "model.onnx")
    export.export_onnx(model, path, views=variant.views, temperature=temperature, architecture=variant.architecture)
    classifier = serving.OnnxClassifier(path, threads=2)
    photos = [preprocessing.load_rgb(src) for src, _ in val_items[::5][:64]]
    for photo in photos[:4]:
        classifier.classify([photo])
    timings = []
    for photo in photos:
        started = time.perf_counter()
        classifier.classify([photo])
        timings.append((time.perf_counter() - started) * 1000)
    return os.path.getsize(path) / 1e6, statistics.median(timings)


def run(overrides: dict, args) -> list[dict]:
    train_items = data.image_folder_items(os.path.join(args.data, "train"))
    val_items = data.image_folder_items(os.path.join(args.data, "validation"))
    config = trainer.TrainConfig(**{**overrides, "progress": False})
    result = trainer.train(train_items, val_items, config, on_epoch=lambda row: print(json.dumps(row), flush=True))
    model = trainer.model_from_result(result)
    labels = torch.tensor([label for _, label in train_items])
    _, held_out = calibration.selection_split(labels, config.selection_fraction, config.seed)
    select_items = [train_items[i] for i in held_out.tolist()]
    rows = []
    tilings = args.tilings if config.view == preprocessing.WHOLE else ["0:max"]
    for tiling in tilings:
        tiles, _, pooling = tiling.partition(":")
        scored = score_tiling(model, config, select_items, val_items, int(tiles), pooling or "max")
        size_mb, ms = onnx_size_and_speed(model, scored.pop("variant"), scored["temperature"], val_items)
        rows.append(
            {
                "architecture": config.architecture,
                "input_size": config.input_size,
                "view": config.view,
                "epochs": config.epochs,
                "best_epoch": result.best_epoch,
                "training_minutes": result.wall_seconds / 60,
                "onnx_mb": size_mb,
                "ms_per_photo": ms,
                **scored,
                "overrides": overrides,
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    return rows


def score_exported(args) -> None:
    """Score an exported whole-view model (its graph pools any number of views) under each tiling, no training."""
    import numpy as np
    import onnxruntime as ort

    session = ort.InferenceSession(args.onnx, providers=["CPUExecutionProvider"])
    views = serving.graph_views(session)
    train_items = data.image_folder_items(os.path.join(args.data, "train"))
    val_items = data.image_folder_items(os.path.join(args.data, "validation"))
    labels = torch.tensor([label for _, label in train_items])
    _, held_out = calibration.selection_split(labels, args.selection_fraction, args.seed)
    select_items = [train_items[i] for i in held_out.tolist()]
    print("| tiling | views | val acc | balanced | ECE (cal.) | sel. acc | T | ms/photo |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for tiling in args.tilings:
        tiles, _, pooling = tiling.partition(":")
        variant = replace(views, tiles=int(tiles), pooling=pooling or "max")
        scored, timings = {}, []
        for name, items in (("select", select_items), ("val", val_items)):
            margins = []
            for src, _ in items:
                batch = preprocessing.to_model_views([preprocessing.load_rgb(src)], variant)
                started = time.perf_counter()
                (view_logits,) = session.run(["view_logits"], {"image": batch})
                timings.append((time.perf_counter() - started) * 1000)
                margin = view_logits[0, :, 1] - view_logits[0, :, 0]
                margins.append(margin.max() if variant.pooling == "max" else margin.mean())
            pooled = torch.tensor(np.array(margins), dtype=torch.float32)
            logits = torch.stack([-pooled / 2, pooled / 2], dim=1)
            scored[name] = (logits, torch.tensor([label for _, label in items]))
        select_logits, select_labels = scored["select"]
        val_logits, val_labels = scored["val"]
        temperature = calibration.fit_temperature(select_logits, select_labels)
        val = trainer.logit_metrics(val_logits, val_labels)
        select_acc = trainer.classification_metrics(select_labels, select_logits.argmax(1))["val_acc"]
        ece = calibration.expected_calibration_error((val_logits / temperature).softmax(1), val_labels)
        print(
            f"| {tiling} | {variant.count} | {val['val_acc']:.3f} | "
            f"{calibration.balanced_accuracy(val['confusion']):.3f} | {ece:.3f} | {select_acc:.3f} | "
            f"{temperature:.2f} | {statistics.median(timings):.1f} |",
            flush=True,
        )


def main(args) -> None:
    if args.onnx:
        return score_exported(args)
    configs = [parse_overrides(words) for words in (args.config or [[]])]
    rows = []
    for overrides in configs:
        rows += run(overrides, args)
        if args.json:
            with open(args.json, "a") as handle:
                for row in rows[-len(args.tilings) :]:
                    handle.write(json.dumps(row) + "\n")
    print(
        "\n| architecture | input | view / tiling | val acc | balanced | ECE (cal.) | sel. acc | train min "
        "| ONNX MB | ms/photo |"
    )
    print("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        tiling = (
            "centre crop"
            if row["view"] == "centre"
            else ("whole" if row["tiles"] == 0 else f"whole + {row['tiles']}x{row['tiles']} tiles ({row['pooling']})")
        )
        print(
            f"| {row['architecture']} | {row['input_size']} | {tiling} | {row['accuracy']:.3f} | "
            f"{row['balanced_accuracy']:.3f} | {row['ece_calibrated']:.3f} | {row['selection_accuracy']:.3f} | "
            f"{row['training_minutes']:.1f} | {row['onnx_mb']:.1f} | {row['ms_per_photo']:.1f} |"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.path.join(REPO, "..", "shared", "data", "corrosion"))
    parser.add_argument("--config", nargs="*", action="append", metavar="FIELD=VALUE")
    parser.add_argument("--tilings", nargs="*", default=["0:max", "2:max", "2:mean"])
    parser.add_argument("--json", default=None, help="append one JSON row per (configuration, tiling) here")
    parser.add_argument(
        "--onnx", default=None, help="score this exported whole-view model under --tilings, no training"
    )
    parser.add_argument("--selection-fraction", type=float, default=trainer.TrainConfig.selection_fraction)
    parser.add_argument("--seed", type=int, default=0)
    main(parser.parse_args())
