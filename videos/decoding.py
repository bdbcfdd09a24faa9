"""Decode a video in a child process: a hostile file can neither hang nor exhaust the worker that asked.

The parent (`probe` and `sample_frames`) runs `python -m videos.decoding` with a wall-clock timeout; the
child limits its own address space (RLIMIT_AS) before it imports PyAV, then prints one JSON object on
stdout: the answer, or {"error", "code"}. This module imports neither Django nor onnxruntime, so the
child starts fast and the parent may import it anywhere.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

# Seconds a probe may take: it reads the header and one frame.
PROBE_TIMEOUT = 30
# Sampled frames are shrunk to this longest side: enough for the model and the key frames, cheap to pass.
FRAME_SIDE = 640
# Scene change: mean absolute difference (0..255) between small grayscale views of two frames.
SCENE_THRESHOLD = 30.0
_SCENE_VIEW = (32, 24)
# The child's own libraries (numpy, OpenMP) would start a thread per core, each reserving address space.
_CHILD_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


class DecodeError(Exception):
    """The file cannot be decoded as an allowed video; `code` says why, for the API and the CLI."""

    def __init__(self, message: str, *, code: str = "corrupt"):
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass(frozen=True)
class Limits:
    max_seconds: float
    max_frame_pixels: int
    max_frames: int
    memory_mb: int
    timeout: float


@dataclass(frozen=True)
class ProbeResult:
    container: str
    codec: str
    width: int
    height: int
    duration_s: float


@dataclass(frozen=True)
class SampledFrame:
    t: float
    path: str  # a BMP in the caller's folder


def probe(path: str | os.PathLike, *, limits: Limits) -> ProbeResult:
    """Container, codec, size and duration, after checking one frame decodes; DecodeError otherwise."""
    answer = _run_child(["probe", os.fspath(path)], limits=limits, timeout=min(PROBE_TIMEOUT, limits.timeout))
    return ProbeResult(**answer)


def sample_frames(
    path: str | os.PathLike, *, out_dir: str, every: float, limits: Limits
) -> tuple[float, list[SampledFrame]]:
    """(duration_s, frames): one frame every `every` seconds plus scene changes, as BMPs in `out_dir`."""
    answer = _run_child(
        ["sample", os.fspath(path), "--out", out_dir, "--every", repr(every)], limits=limits, timeout=limits.timeout
    )
    return answer["duration_s"], [SampledFrame(t=f["t"], path=f["path"]) for f in answer["frames"]]


def _run_child(args: list[str], *, limits: Limits, timeout: float) -> dict:
    command = [
        sys.executable,
        "-m",
        "videos.decoding",
        *args,
        "--memory-mb",
        str(limits.memory_mb),
        "--max-seconds",
        repr(float(limits.max_seconds)),
        "--max-frame-pixels",
        str(limits.max_frame_pixels),
        "--max-frames",
        str(limits.max_frames),
    ]
    env = {**os.environ, **_CHILD_ENV}
    root = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "") if env.get("PYTHONPATH") else root
    try:
        # subprocess.run kills the child when the timeout expires.
        done = subprocess.run(command, capture_output=True, timeout=timeout, env=env, check=False)
    except subprocess.TimeoutExpired:
        raise DecodeError(f"Decoding took longer than {timeout:g} seconds.", code="timeout") from None
    try:
        answer = json.loads(done.stdout.decode("utf-8", "replace").strip().splitlines()[-1])
    except (IndexError, ValueError):
        # Killed by a signal (memory), or crashed inside FFmpeg: no answer at all.
        raise DecodeError(f"The decoder stopped without an answer (exit status {done.returncode}).") from None
    if "error" in answer:
        raise DecodeError(answer["error"], code=answer.get("code", "corrupt"))
    return answer


# --- the child ------------------------------------------------------------------------------------


def _limit_memory(megabytes: int) -> None:
    import resource

    limit = megabytes * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _open_video(path: str, limits: Limits):
    import av

    try:
        container = av.open(path, mode="r", metadata_errors="ignore")
    except av.error.FFmpegError as error:
        raise DecodeError(
            f"Not a video file FFmpeg can read ({error.__class__.__name__}).", code="unsupported"
        ) from None
    if not container.streams.video:
        container.close()
        raise DecodeError("The file has no video stream.", code="unsupported")
    stream = container.streams.video[0]
    width, height = stream.codec_context.width or 0, stream.codec_context.height or 0
    if width <= 0 or height <= 0:
        container.close()
        raise DecodeError("The video stream has no frame size.", code="corrupt")
    if width * height > limits.max_frame_pixels:
        container.close()
        raise DecodeError(
            f"Frames of {width}x{height} pixels are larger than {limits.max_frame_pixels} pixels.", code="too_large"
        )
    # Frame and slice threads: decoding is most of the work, and a worker machine has a few cores.
    stream.thread_type = "AUTO"
    duration = _duration(container, stream)
    if duration > limits.max_seconds:
        container.close()
        raise DecodeError(f"The video is longer than {limits.max_seconds:g} seconds.", code="too_long")
    return container, stream, duration


def _duration(container, stream) -> float:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / 1_000_000
    return 0.0


def _child_probe(path: str, limits: Limits) -> dict:
    import av

    container, stream, duration = _open_video(path, limits)
    with container:
        try:
            first = next(container.decode(stream), None)
        except av.error.FFmpegError as error:
            raise DecodeError(f"The video does not decode ({error.__class__.__name__}).") from None
        if first is None:
            raise DecodeError("The video has no frame.", code="empty")
        return {
            "container": container.format.name,
            "codec": stream.codec_context.name,
            "width": stream.codec_context.width,
            "height": stream.codec_context.height,
            "duration_s": round(duration, 3),
        }


def _child_sample(path: str, out_dir: str, every: float, limits: Limits) -> dict:
    import av
    import numpy as np

    container, stream, duration = _open_video(path, limits)
    rate = float(stream.average_rate or stream.guessed_rate or 0)
    if rate and rate * every >= _SKIP_NONREF_FRAMES_PER_STEP:
        # Many frames per sampling step: frames no other frame refers to need not be decoded at all (the
        # B-frames of most encoders, about half the work). A sample then lands at most a frame or two after
        # its time; clips with few frames per step (the tests') decode every frame, as before.
        stream.codec_context.skip_frame = "NONREF"
    frames: list[dict] = []
    last_kept: np.ndarray | None = None
    next_sample = 0.0
    last_t = 0.0
    with container:
        try:
            for frame in container.decode(stream):
                t = float(frame.time) if frame.time is not None else last_t
                if t > limits.max_seconds:
                    raise DecodeError(f"The video is longer than {limits.max_seconds:g} seconds.", code="too_long")
                last_t = max(last_t, t)
                view = _scene_view(frame, np)
                scene_change = last_kept is not None and float(np.abs(view - last_kept).mean()) > SCENE_THRESHOLD
                if t + 1e-6 < next_sample and not scene_change:
                    continue
                if len(frames) >= limits.max_frames:
                    raise DecodeError(
                        f"The video needs more than {limits.max_frames} sampled frames.", code="too_many_frames"
                    )
                frames.append({"t": round(t, 3), "path": _save_frame(frame, out_dir, len(frames))})
                last_kept = view
                if t + 1e-6 >= next_sample:
                    next_sample = (int(t / every + 1e-6) + 1) * every
        except av.error.FFmpegError as error:
            if not frames:
                raise DecodeError(f"The video does not decode ({error.__class__.__name__}).") from None
            # A truncated tail: the frames before it still tell where corrosion is.
    if not frames:
        raise DecodeError("The video has no frame.", code="empty")
    return {"duration_s": round(max(duration, last_t), 3), "frames": frames}


# Frame rates times the sampling step from which frames nobody refers to are skipped (see _child_sample).
_SKIP_NONREF_FRAMES_PER_STEP = 8
# Planar YUV formats whose first plane is the luma the scene view needs, read in place.
_PLANAR_YUV = {"yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p", "yuv420p10le", "nv12"}
# Frames this many times larger than the scene view are first thinned by striding (a view, no copy).
_SCENE_STRIDE_OVER = 8


def _scene_view(frame, np):
    """A small grayscale view of a frame, as int16, for the scene-change test.

    Large frames: block means over the luma plane read in place, never a full-frame conversion (a 1080p
    frame is 2 MB of luma; a conversion per frame was a third of the decoding time). Small frames, or
    formats without a luma plane: FFmpeg's own scaler, as before.
    """
    width, height = frame.width, frame.height
    view_w, view_h = _SCENE_VIEW
    if frame.format.name not in _PLANAR_YUV or width < view_w * _SCENE_STRIDE_OVER or height < view_h * 2:
        return frame.to_ndarray(width=view_w, height=view_h, format="gray").astype(np.int16)
    plane = frame.planes[0]
    bytes_per_sample = 2 if frame.format.name.endswith("10le") else 1
    dtype = np.uint16 if bytes_per_sample == 2 else np.uint8
    luma = np.frombuffer(plane, dtype=dtype).reshape(plane.height, plane.line_size // bytes_per_sample)
    luma = luma[:height, :width]
    step = max(1, min(width // (view_w * 4), height // (view_h * 4)))
    thin = luma[::step, ::step]
    block_h, block_w = thin.shape[0] // view_h, thin.shape[1] // view_w
    blocks = thin[: block_h * view_h, : block_w * view_w].reshape(view_h, block_h, view_w, block_w)
    means = blocks.mean(axis=(1, 3))
    if bytes_per_sample == 2:
        means = means / 4
    return means.astype(np.int16)


def _save_frame(frame, out_dir: str, index: int) -> str:
    """The frame at its working size (longest side FRAME_SIDE), as an uncompressed BMP for the parent.

    A large frame is scaled by FFmpeg straight from its own pixel format, never converted to a full-size
    RGB picture first.
    """
    from PIL import Image

    width, height = frame.width, frame.height
    if max(width, height) > FRAME_SIDE:
        scale = FRAME_SIDE / max(width, height)
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        rgb = frame.reformat(width=size[0], height=size[1], format="rgb24", interpolation="AREA")
        picture = Image.fromarray(rgb.to_ndarray(), "RGB")
    else:
        picture = frame.to_image()
    path = os.path.join(out_dir, f"frame-{index:06d}.bmp")
    picture.save(path, format="BMP")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m videos.decoding")
    parser.add_argument("action", choices=("probe", "sample"))
    parser.add_argument("path")
    parser.add_argument("--out")
    parser.add_argument("--every", type=float, default=1.0)
    parser.add_argument("--memory-mb", type=int, required=True)
    parser.add_argument("--max-seconds", type=float, required=True)
    parser.add_argument("--max-frame-pixels", type=int, required=True)
    parser.add_argument("--max-frames", type=int, required=True)
    args = parser.parse_args(argv)
    limits = Limits(args.max_seconds, args.max_frame_pixels, args.max_frames, args.memory_mb, timeout=0)
    _limit_memory(args.memory_mb)
    try:
        if args.action == "probe":
            answer = _child_probe(args.path, limits)
        else:
            answer = _child_sample(args.path, args.out, args.every, limits)
    except DecodeError as error:
        answer = {"error": error.message, "code": error.code}
    except MemoryError:
        answer = {"error": f"Decoding needed more than {args.memory_mb} MB.", "code": "too_large"}
    except Exception as error:  # noqa: BLE001 - any failure inside FFmpeg is the file's, reported as such
        answer = {"error": f"The video does not decode ({error.__class__.__name__}).", "code": "corrupt"}
    print(json.dumps(answer))
    return 0


if __name__ == "__main__":
    sys.exit(main())
