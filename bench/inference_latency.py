"""Batch-1 latency: onnxruntime (as served) vs PyTorch eager on the same model, and the FLOP floor.

    .venv/bin/python bench/inference_latency.py [--data ../shared/data/corrosion] [--runs 200] [--threads 2]

The model is the default TrainConfig network (random weights: latency does not
depend on their values), exported with ``export.export_onnx`` and run through
``serving.OnnxClassifier``'s session settings. Inputs are real validation
photos preprocessed once (or generated photos when the set is absent), so the
timings cover the network only. The floor is the model's forward FLOPs
divided by this machine's measured float32 matmul speed.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

import numpy as np  # noqa: E402
import torch  # noqa: E402

from modelzoo.ml import data, export, preprocessing, serving, trainer  # noqa: E402
from modelzoo.ml.network import count_flops, count_parameters  # noqa: E402


def sample_inputs(data_dir: str, views: preprocessing.Views, count: int = 16) -> np.ndarray:
    split = os.path.join(data_dir, "validation")
    if os.path.isdir(split):
        images = [preprocessing.load_rgb(path) for path, _ in data.image_folder_items(split)[::20][:count]]
    else:
        from quiz.demo_images import make_demo_image

        images = [make_demo_image(data.CLASS_NAMES[i % 2], seed=i, size=(480, 320)) for i in range(count)]
    if views.mode == preprocessing.CENTRE:
        return preprocessing.to_model_batch(images, views.input_size)
    return preprocessing.to_model_views(images, views)


def percentiles(run, inputs: np.ndarray, runs: int, warmup: int) -> tuple[float, float]:
    for index in range(warmup):
        run(inputs[index % len(inputs)][None])
    timings = []
    for index in range(runs):
        image = inputs[index % len(inputs)][None]
        started = time.perf_counter()
        run(image)
        timings.append(time.perf_counter() - started)
    p50, p95 = np.percentile(np.array(timings) * 1000, [50, 95])
    return float(p50), float(p95)


def matmul_gflops(threads: int, size: int = 4096, repeats: int = 5) -> tuple[float, str]:
    """Best float32 GEMM speed of numpy (OpenBLAS) and torch (MKL): the practical compute ceiling.

    Both are tried because MKL does not always pick its fastest kernels on AMD CPUs.
    """
    torch.set_num_threads(threads)
    a = np.random.default_rng(0).standard_normal((size, size), dtype=np.float32)
    b = np.random.default_rng(1).standard_normal((size, size), dtype=np.float32)
    candidates = {
        "numpy": lambda: a @ b,
        "torch": (lambda x, y: lambda: torch.mm(x, y))(torch.from_numpy(a), torch.from_numpy(b)),
    }
    speeds = {}
    for name, multiply in candidates.items():
        multiply()
        best = float("inf")
        for _ in range(repeats):
            started = time.perf_counter()
            multiply()
            best = min(best, time.perf_counter() - started)
        speeds[name] = 2 * size**3 / best / 1e9
    name = max(speeds, key=speeds.get)
    return speeds[name], f"{name} matmul {size}^2; " + ", ".join(f"{k} {v:.0f}" for k, v in speeds.items())


def main(args: argparse.Namespace) -> None:
    config = trainer.TrainConfig()
    torch.manual_seed(0)
    model = trainer.build_model(config).eval()
    views = config.views
    onnx_path = export.export_onnx(model, os.path.join(tempfile.mkdtemp(), "model.onnx"), views=views)
    inputs = sample_inputs(args.data, views)

    classifier = serving.OnnxClassifier(onnx_path, threads=args.threads)
    session = classifier.session
    ort_p50, ort_p95 = percentiles(
        lambda x: session.run(["logits", "cam"], {"image": x}), inputs, args.runs, args.warmup
    )

    torch.set_num_threads(args.threads)

    def torch_run(x):
        with torch.inference_mode():
            batch = torch.from_numpy(x)
            logits, features = model(batch.flatten(0, 1) if batch.ndim == 5 else batch, return_features=True)
            model.class_activation_map(features)

    torch_p50, torch_p95 = percentiles(torch_run, inputs, args.runs, args.warmup)

    flops = count_flops(model, config.input_size) * views.count if config.architecture == "paper" else 0
    gflops, how = matmul_gflops(args.threads)
    floor_ms = flops / (gflops * 1e9) * 1000

    print(
        f"model: {config.architecture} width {config.width}, {views.count} view(s) of {config.input_size}px, "
        f"{count_parameters(model) / 1e6:.2f} M parameters, "
        f"{flops / 1e9:.3f} GFLOP per image (forward, convs + head)"
    )
    print(
        f"machine: {data.available_cores()} cores, {args.threads} threads, float32 matmul {gflops:.0f} GFLOP/s "
        f"({how}), onnxruntime {serving.ort.__version__}, torch {torch.__version__}"
    )
    print(f"batch 1, {args.warmup} warm-up + {args.runs} timed runs, outputs logits + cam\n")
    print(f"{'engine':<34}{'p50 ms':>9}{'p95 ms':>9}")
    print(f"{'onnxruntime (serving session)':<34}{ort_p50:>9.2f}{ort_p95:>9.2f}")
    print(f"{'PyTorch eager, inference_mode':<34}{torch_p50:>9.2f}{torch_p95:>9.2f}")
    print(f"{'FLOP floor (FLOPs / matmul speed)':<34}{floor_ms:>9.2f}")
    print(
        f"\nspeed-up onnxruntime vs PyTorch (p50): {torch_p50 / ort_p50:.2f}x; "
        f"onnxruntime at {floor_ms / ort_p50:.0%} of the matmul-speed floor"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.path.join(REPO, "..", "shared", "data", "corrosion"))
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2, help="threads for both engines (serving uses min(2, cores))")
    main(parser.parse_args())
