"""Tiny test clips made with PyAV from demo pictures, with known corrosion segments."""

from __future__ import annotations

from pathlib import Path

import av

from modelzoo.ml.serving import CORROSION, NO_CORROSION
from quiz.demo_images import make_demo_image

SIZE = (64, 48)


def make_clip(path: Path, *, seconds: int, corroded: set[int], fps: int = 4) -> Path:
    """A clip whose second s shows a corrosion picture when s is in `corroded`, a clean one otherwise.

    Each second holds one still picture, so the picture at second s starts exactly at t = s.
    """
    codec = "libvpx-vp9" if path.suffix == ".webm" else "libx264"
    with av.open(str(path), mode="w") as output:
        stream = output.add_stream(codec, rate=fps)
        stream.width, stream.height = SIZE
        stream.pix_fmt = "yuv420p"
        for second in range(seconds):
            label = CORROSION if second in corroded else NO_CORROSION
            picture = make_demo_image(label, seed=second, size=SIZE)
            for _ in range(fps):
                for packet in stream.encode(av.VideoFrame.from_image(picture)):
                    output.mux(packet)
        for packet in stream.encode():
            output.mux(packet)
    return path


def make_audio_only(path: Path) -> Path:
    """A Matroska file with one silent audio stream and no video."""
    import numpy as np

    with av.open(str(path), mode="w") as output:
        stream = output.add_stream("pcm_s16le", rate=8000)
        stream.layout = "mono"
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 800), dtype=np.int16), format="s16", layout="mono")
        frame.sample_rate = 8000
        for packet in [*stream.encode(frame), *stream.encode()]:
            output.mux(packet)
    return path
