"""One video through the decoder and the photos' classifier: the work the worker and the CLI share.

Torch-free like the rest of the serving path: frames go through the same ONNX classifier and
preprocessing as photos (modelzoo.inference.classifier_for).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from PIL import Image as PILImage

from videos.decoding import Limits, probe, sample_frames
from videos.timeline import key_frame_indexes, segments_of

# Frames per classifier call: big enough to amortise a call, small enough for frequent progress.
BATCH_SIZE = 16
HEATMAP_SIDE = 640
ALLOWED_CONTAINERS = ("mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm")


@dataclass
class KeyFrame:
    t: float
    probability: float
    image: PILImage.Image
    heatmap: PILImage.Image


@dataclass
class Analysis:
    duration_s: float
    frames: list[dict] = field(default_factory=list)
    segments: list[dict] = field(default_factory=list)
    key_frames: list[KeyFrame] = field(default_factory=list)


def decode_limits() -> Limits:
    return Limits(
        max_seconds=settings.VIDEO_MAX_SECONDS,
        max_frame_pixels=settings.VIDEO_MAX_FRAME_PIXELS,
        max_frames=settings.VIDEO_MAX_FRAMES,
        memory_mb=settings.VIDEO_DECODE_MEMORY_MB,
        timeout=settings.VIDEO_DECODE_TIMEOUT,
    )


def video_probe(path: str):
    """The probe's answer for an allowed container; DecodeError (code "unsupported") for any other."""
    from videos.decoding import DecodeError

    result = probe(path, limits=decode_limits())
    if result.container not in ALLOWED_CONTAINERS:
        raise DecodeError("Send an MP4, MOV, MKV or WebM video.", code="unsupported")
    return result


def frame_classifier(version):
    """The seam unit tests replace: the active model's ONNX classifier, as for photos."""
    from modelzoo.inference import classifier_for

    return classifier_for(version)


def analyse(path: str, *, classifier, every: float, on_progress: Callable[[int, int], None] | None = None) -> Analysis:
    """Sample, classify in batches (reporting progress after each), then find segments and key frames."""
    from modelzoo.ml.serving import render_heatmap_overlay

    threshold = settings.VIDEO_SEGMENT_THRESHOLD
    with tempfile.TemporaryDirectory(prefix="video-frames-") as out_dir:
        duration, sampled = sample_frames(path, out_dir=out_dir, every=every, limits=decode_limits())
        analysis = Analysis(duration_s=duration)
        cams = []
        for start in range(0, len(sampled), BATCH_SIZE):
            batch = sampled[start : start + BATCH_SIZE]
            for frame, prediction in zip(batch, classifier.classify([f.path for f in batch])):
                analysis.frames.append(
                    {"t": frame.t, "probability": round(float(prediction.probability), 4), "label": prediction.label}
                )
                cams.append(prediction.cam)
            if on_progress is not None:
                on_progress(len(analysis.frames), len(sampled))
        analysis.segments = segments_of(
            analysis.frames, threshold=threshold, gap=settings.VIDEO_SEGMENT_GAP, every=every
        )
        for index in key_frame_indexes(analysis.frames, analysis.segments, threshold=threshold):
            with PILImage.open(sampled[index].path) as picture:
                image = picture.convert("RGB")
            image.thumbnail((HEATMAP_SIDE, HEATMAP_SIDE))
            overlay = render_heatmap_overlay(image, cams[index], input_size=getattr(classifier, "input_size", None))
            frame = analysis.frames[index]
            analysis.key_frames.append(KeyFrame(frame["t"], frame["probability"], image, overlay))
    return analysis
