"""Train CorrosionNet with the default TrainConfig on the real photo set, export ONNX, print the result.

    .venv/bin/python bench/train_real.py [--data ../shared/data/corrosion] [--onnx out.onnx] [--set epochs=3 ...]

No Django: reads the ImageFolder layout directly. ``--set`` overrides config
fields (used to compare settings); without it this is exactly what a default
training run in the app does.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from dataclasses import fields

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from modelzoo.ml import data, export, preprocessing, trainer  # noqa: E402


def parse_overrides(pairs: list[str]) -> dict:
    types = {f.name: f.type for f in fields(trainer.TrainConfig)}
    defaults = trainer.TrainConfig()
    values = {}
    for pair in pairs:
        key, _, raw = pair.partition("=")
        if key not in types:
            raise SystemExit(f"unknown config field {key!r}")
        kind = type(getattr(defaults, key))
        values[key] = raw.lower() in ("1", "true", "yes") if kind is bool else kind(raw)
    return values


def main(args: argparse.Namespace) -> None:
    train_items = data.image_folder_items(os.path.join(args.data, "train"))
    val_items = data.image_folder_items(os.path.join(args.data, "validation"))
    config = trainer.TrainConfig(**parse_overrides(args.set))
    config.progress = not args.quiet

    def show(row: dict) -> None:
        print(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()}), flush=True)

    result = trainer.train(train_items, val_items, config, on_epoch=show)
    model = trainer.model_from_result(result)
    onnx_path = args.onnx or os.path.join(tempfile.mkdtemp(), "corrosion_net.onnx")
    views = config.views
    export.export_onnx(model, onnx_path, temperature=result.temperature, views=views, architecture=config.architecture)
    val_batch = preprocessing.to_model_views([preprocessing.load_rgb(src) for src, _ in val_items[:8]], views)
    if views.mode == preprocessing.CENTRE:
        val_batch = val_batch[:, 0]
    parity = export.check_onnx_parity(model, onnx_path, val_batch, temperature=result.temperature, views=views)

    print(f"config            {json.dumps(result.config)}")
    print(f"train / val       {result.n_train} / {result.n_val} images ({result.n_selection} held out to select)")
    print(f"val accuracy      {result.val_accuracy:.4f}  (best epoch {result.best_epoch} / {result.epochs})")
    print(f"balanced accuracy {result.balanced_accuracy:.4f}")
    selection = "none" if result.selection_accuracy is None else f"{result.selection_accuracy:.4f}"
    print(f"selection acc.    {selection}  (chose the epoch)")
    print(f"val ECE           {result.ece:.4f} raw, {result.ece_calibrated:.4f} at T {result.temperature:.3f}")
    for name in data.CLASS_NAMES:
        print(f"  {name:<14}  precision {result.precision[name]:.3f}  recall {result.recall[name]:.3f}")
    print(f"confusion         {result.confusion}  (rows true, cols predicted: {', '.join(data.CLASS_NAMES)})")
    print(f"wall time         {result.wall_seconds:.1f} s  (decode cache {result.cache_seconds:.1f} s)")
    print(f"device            {result.device}, {data.available_cores()} cores")
    print(f"onnx              {onnx_path}  {os.path.getsize(onnx_path) / 1e6:.2f} MB  max |torch-ort| {parity:.2e}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.path.join(REPO, "..", "shared", "data", "corrosion"))
    parser.add_argument("--onnx", default=None, help="where to write the model (default: a temp dir)")
    parser.add_argument("--set", nargs="*", default=[], metavar="FIELD=VALUE", help="override a TrainConfig field")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    main(parser.parse_args())
