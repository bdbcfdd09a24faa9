"""Video throughput: a 60 s 1080p 30 fps H.264 clip, one frame a second, through the real video path.

    .venv/bin/python bench/video_throughput.py              # target: <= 15 s on the 2-core machine
    .venv/bin/python bench/video_throughput.py --repeat 3 --json out.json

What runs: videos.analysis.analyse, as the `video` worker runs it: the decoder child process (PyAV, under
the same time and memory limits), then the frames classified in batches by the ONNX runtime with the photos'
preprocessing (modelzoo.ml.serving.OnnxClassifier, what classifier_for returns), then segments, key frames
and their heatmaps. Reported: decode (the child, from start to its answer) and classification separately,
in frames per second, and the total wall time. No database, broker or web server: they add a few
milliseconds per video, not per frame.

The model is the default architecture (what `manage.py train` builds), exported untrained: weights do not
change its speed. The clip is a camera panning over a generated scene with rusty patches, encoded once with
libx264 (its default GOP and B-frames, like a drone's recorder) and cached under the temp folder, as is the
model.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CACHE = Path(tempfile.gettempdir()) / "corrosiondetector-bench-video"
WIDTH, HEIGHT, FPS, SECONDS = 1920, 1080, 30, 60


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--every", type=float, default=1.0, help="seconds between samples (default 1)")
    parser.add_argument("--repeat", type=int, default=1, help="runs to report (the median is the result)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    return parser.parse_args()


def make_clip(path: Path) -> Path:
    """60 s of 1080p30 H.264: a pan across a wide scene of grey steel with rust patches."""
    import av
    import numpy as np

    rng = np.random.default_rng(7)
    scene_w, scene_h = WIDTH + SECONDS * FPS * 2, HEIGHT
    # Smooth grey steel: low-frequency noise, upsampled.
    coarse = rng.integers(90, 170, (scene_h // 40 + 2, scene_w // 40 + 2), dtype=np.uint8)
    steel = np.kron(coarse, np.ones((40, 40), dtype=np.uint8))[:scene_h, :scene_w]
    scene = np.repeat(steel[..., None], 3, axis=2)
    for _ in range(40):  # rust patches
        x, y = int(rng.integers(0, scene_w - 300)), int(rng.integers(0, scene_h - 300))
        w, h = (int(v) for v in rng.integers(80, 300, 2))
        scene[y : y + h, x : x + w] = (150 + rng.integers(0, 60), 70 + rng.integers(0, 30), 30)
    scene = np.ascontiguousarray(scene)
    partial = path.with_suffix(".part.mp4")
    with av.open(str(partial), mode="w") as output:
        stream = output.add_stream("libx264", rate=FPS, options={"preset": "veryfast"})
        stream.width, stream.height = WIDTH, HEIGHT
        stream.pix_fmt = "yuv420p"
        for index in range(SECONDS * FPS):
            x = index * 2  # the camera pans 60 px a second
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(scene[:, x : x + WIDTH]), format="rgb24")
            for packet in stream.encode(frame):
                output.mux(packet)
        for packet in stream.encode():
            output.mux(packet)
    partial.rename(path)
    return path


def make_model(path: Path) -> Path:
    """The default network, untrained, exported to ONNX (in a child: torch stays out of this process)."""
    import subprocess

    code = (
        "import sys\n"
        "from modelzoo.ml.export import export_onnx\n"
        "from modelzoo.ml.trainer import TrainConfig, build_model\n"
        "config = TrainConfig()\n"
        "export_onnx(build_model(config).eval(), sys.argv[1], views=config.views, architecture=config.architecture)\n"
    )
    partial = path.with_suffix(".part.onnx")
    subprocess.run([sys.executable, "-c", code, str(partial)], cwd=ROOT, check=True)
    partial.rename(path)
    return path


def default_model_key() -> str:
    """Names the cached model after the default configuration, so a changed default is exported afresh."""
    import hashlib
    import subprocess

    code = (
        "import dataclasses, json\n"
        "from modelzoo.ml.trainer import TrainConfig\n"
        "print(json.dumps(dataclasses.asdict(TrainConfig()), sort_keys=True))\n"
    )
    config = subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True, text=True).stdout
    return hashlib.sha256(config.encode()).hexdigest()[:12]


def _cpu(who) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


class TimedClassifier:
    """The real classifier, with the time spent in it counted."""

    def __init__(self, classifier):
        self.inner = classifier
        self.input_size = classifier.input_size
        self.seconds = 0.0
        self.frames = 0

    def classify(self, images):
        started = time.perf_counter()
        predictions = self.inner.classify(images)
        self.seconds += time.perf_counter() - started
        self.frames += len(images)
        return predictions


def one_run(clip: Path, model: Path, every: float) -> dict:
    from modelzoo.ml.serving import OnnxClassifier
    from videos import analysis, decoding

    classifier = TimedClassifier(OnnxClassifier(model))
    decode_seconds = {}
    sample_frames = decoding.sample_frames

    def timed_sample_frames(*args, **kwargs):
        started, children = time.perf_counter(), _cpu(resource.RUSAGE_CHILDREN)
        try:
            return sample_frames(*args, **kwargs)
        finally:
            decode_seconds["decode"] = time.perf_counter() - started
            decode_seconds["decode_cpu"] = _cpu(resource.RUSAGE_CHILDREN) - children

    analysis.sample_frames = timed_sample_frames
    try:
        started, own = time.perf_counter(), _cpu(resource.RUSAGE_SELF)
        result = analysis.analyse(str(clip), classifier=classifier, every=every)
        total = time.perf_counter() - started
        own_cpu = _cpu(resource.RUSAGE_SELF) - own
    finally:
        analysis.sample_frames = sample_frames
    decode = decode_seconds["decode"]
    return {
        # CPU seconds (user + system) tell the work apart from the machine's load: on a busy shared machine
        # wall time is mostly waiting for a core.
        "decode_cpu_s": round(decode_seconds["decode_cpu"], 2),
        "parent_cpu_s": round(own_cpu, 2),
        "total_s": round(total, 2),
        "decode_s": round(decode, 2),
        "classify_s": round(classifier.seconds, 2),
        "other_s": round(total - decode - classifier.seconds, 2),  # segments, key frames, heatmaps
        "sampled_frames": len(result.frames),
        "decoded_fps": round(SECONDS * FPS / decode, 1),  # source frames through the decoder per second
        "sampled_fps": round(len(result.frames) / decode, 1),
        "classify_fps": round(classifier.frames / classifier.seconds, 1),
        "realtime_x": round(result.duration_s / total, 1),
        "segments": len(result.segments),
        "key_frames": len(result.key_frames),
    }


def main() -> None:
    args = parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "corrosiondetector.settings.base")
    os.environ.setdefault("SECRET_KEY", "bench")
    import django

    django.setup()
    CACHE.mkdir(parents=True, exist_ok=True)
    clip = CACHE / f"pan-{WIDTH}x{HEIGHT}-{FPS}fps-{SECONDS}s.mp4"
    if not clip.exists():
        started = time.perf_counter()
        make_clip(clip)
        print(f"clip made in {time.perf_counter() - started:.0f} s: {clip} ({clip.stat().st_size / 1e6:.1f} MB)")
    model = CACHE / f"default-untrained-{default_model_key()}.onnx"
    if not model.exists():
        make_model(model)
    runs = [one_run(clip, model, args.every) for _ in range(args.repeat)]
    for run in runs:
        print(json.dumps(run))
    median = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
    print(
        f"\n{SECONDS} s {WIDTH}x{HEIGHT} {FPS} fps H.264, one frame every {args.every:g} s "
        f"({median['sampled_frames']:.0f} frames), median of {len(runs)}:\n"
        f"  total     {median['total_s']:.2f} s  ({median['realtime_x']:.1f}x real time; target <= 15 s)\n"
        f"  decode    {median['decode_s']:.2f} s  ({median['decoded_fps']:.0f} source frames/s, "
        f"{median['sampled_fps']:.1f} sampled frames/s)\n"
        f"  classify  {median['classify_s']:.2f} s  ({median['classify_fps']:.1f} frames/s)\n"
        f"  other     {median['other_s']:.2f} s  (segments, key frames, heatmaps)\n"
        f"  CPU       decoder child {median['decode_cpu_s']:.2f} s, classify and the rest "
        f"{median['parent_cpu_s']:.2f} s; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    if args.json:
        args.json.write_text(json.dumps({"runs": runs, "median": median}, indent=2))


if __name__ == "__main__":
    main()
