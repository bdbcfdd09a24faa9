"""A corpus of broken and hostile videos, generated with PyAV and byte surgery (no file is committed).

`hostile_videos(folder)` writes them and returns one `Hostile` per file: its name, path, kind and whether a
file of that kind may still be a usable clip (a truncated tail, a flipped bit inside a frame: FFmpeg decodes
around the damage, so the video may end `done`, with the frames before the damage). Every other kind must be
refused at upload (4xx) or end `failed`. Deterministic: the same seed gives the same bytes.
"""

from __future__ import annotations

import random
import struct
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from factories import jpeg_bytes
from hostile_files import PDF, PSD, SVG, bmp, gif, png_bomb

# How many damaged copies of each base clip.
TRUNCATIONS = 20
BIT_FLIPS = 20
SIZE = (64, 48)


@dataclass(frozen=True)
class Hostile:
    name: str
    path: Path
    kind: str
    may_decode: bool = False  # damage FFmpeg may decode around: `done` is an honest outcome too


def _frames(count: int, size=SIZE):
    rng = np.random.default_rng(count)
    for index in range(count):
        # Blocks of colour that drift: real motion, no scene change at every frame.
        pixels = np.zeros((size[1], size[0], 3), dtype=np.uint8)
        pixels[..., 0] = (index * 7) % 255
        pixels[: size[1] // 2, : size[0] // 2] = rng.integers(0, 255, 3, dtype=np.uint8)
        yield av.VideoFrame.from_ndarray(pixels, format="rgb24")


def write_clip(path: Path, *, codec: str = "libx264", seconds: int = 3, fps: int = 4, size=SIZE, **container) -> Path:
    with av.open(str(path), mode="w", **container) as output:
        stream = output.add_stream(codec, rate=fps)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p" if codec not in ("ffv1", "rawvideo", "gif") else stream.pix_fmt
        if codec == "gif":
            stream.pix_fmt = "rgb8"
        for frame in _frames(seconds * fps, size):
            for packet in stream.encode(frame):
                output.mux(packet)
        for packet in stream.encode():
            output.mux(packet)
    return path


def _no_frames(path: Path, *, codec: str, format_: str) -> Path:
    """A container that declares a video stream and holds not one frame."""
    with av.open(str(path), mode="w", format=format_) as output:
        stream = output.add_stream(codec, rate=4)
        stream.width, stream.height = SIZE
        stream.pix_fmt = "yuv420p"
    return path


def _audio_only(path: Path, *, codec: str, format_: str, rate: int = 48000) -> Path:
    with av.open(str(path), mode="w", format=format_) as output:
        stream = output.add_stream(codec, rate=rate)
        stream.layout = "mono"
        fmt = "fltp" if codec in ("aac", "libopus") else "s16"
        dtype = np.float32 if fmt == "fltp" else np.int16
        samples = 960 if codec == "libopus" else 1024
        for _ in range(20):
            frame = av.AudioFrame.from_ndarray(np.zeros((1, samples), dtype=dtype), format=fmt, layout="mono")
            frame.sample_rate = rate
            for packet in stream.encode(frame):
                output.mux(packet)
        for packet in stream.encode():
            output.mux(packet)
    return path


def _subtitles_only(path: Path, *, codec: str) -> Path:
    """A Matroska file whose only stream is subtitles, written as Matroska's own elements."""

    def element(ident: bytes, payload: bytes) -> bytes:
        return ident + _ebml_size(len(payload)) + payload

    ebml = element(
        b"\x1a\x45\xdf\xa3",
        element(b"\x42\x82", b"matroska") + element(b"\x42\x87", b"\x04") + element(b"\x42\x85", b"\x02"),
    )
    codec_id = {"subrip": b"S_TEXT/UTF8", "ass": b"S_TEXT/ASS"}[codec]
    track = element(
        b"\xae",
        element(b"\xd7", b"\x01")
        + element(b"\x73\xc5", b"\x01")
        + element(b"\x83", b"\x11")
        + element(b"\x86", codec_id),
    )
    tracks = element(b"\x16\x54\xae\x6b", track)
    info = element(b"\x15\x49\xa9\x66", element(b"\x2a\xd7\xb1", b"\x0f\x42\x40"))
    block = b"\x81" + b"\x00\x00" + b"\x80" + b"Rust on the bridge"
    cluster = element(b"\x1f\x43\xb6\x75", element(b"\xe7", b"\x00") + element(b"\xa3", block))
    segment = element(b"\x18\x53\x80\x67", info + tracks + cluster)
    path.write_bytes(ebml + segment)
    return path


def _ebml_size(length: int) -> bytes:
    return bytes([0x01]) + length.to_bytes(7, "big")


def _patch_box(data: bytes, box: bytes, offset: int, value: bytes) -> bytes:
    """Overwrite bytes at `offset` after the type of the first MP4 box `box` (unchanged when absent)."""
    at = data.find(box)
    if at < 0:
        return data
    start = at + len(box) + offset
    return data[:start] + value + data[start + len(value) :]


FTYP = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isommp41"


def hostile_videos(folder: Path, *, seed: int = 17, one_pixel_frames: int = 100_000) -> list[Hostile]:
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    corpus: list[Hostile] = []

    def add(name: str, data: bytes, kind: str, may_decode: bool = False) -> None:
        path = folder / name
        path.write_bytes(data)
        corpus.append(Hostile(name, path, kind, may_decode))

    bases = {
        "mp4": write_clip(folder / "base.mp4").read_bytes(),
        "webm": write_clip(folder / "base.webm", codec="libvpx-vp9").read_bytes(),
        "mkv": write_clip(folder / "base.mkv").read_bytes(),
        "mov": write_clip(folder / "base.mov", codec="mpeg4").read_bytes(),
    }
    for base in ("mp4", "webm", "mkv", "mov"):
        (folder / f"base.{base}").unlink()

    # Truncated: from a few bytes (inside the header) to most of the file.
    for ext, data in bases.items():
        cuts = sorted(
            {4, 8, 16, 32, 64, 128, 256, 512} | {int(len(data) * f / TRUNCATIONS) for f in range(1, TRUNCATIONS)}
        )
        for cut in cuts[:TRUNCATIONS]:
            # A cut inside the header leaves nothing to decode; a later one may leave whole frames (WebM's
            # header is a few hundred bytes, and a 64x48 frame smaller still).
            add(f"truncated-{cut}.{ext}", data[:cut], "truncated", may_decode=cut > 64)

    # Bit-flipped: a few flips in the header (first 512 bytes), or scattered through the file.
    for ext, data in bases.items():
        for index in range(BIT_FLIPS):
            damaged = bytearray(data)
            span = 512 if index % 2 == 0 else len(data)
            for _ in range(1 + index % 5):
                at = rng.randrange(min(span, len(data)))
                damaged[at] ^= 1 << rng.randrange(8)
            add(f"bitflip-{index}.{ext}", bytes(damaged), "bit-flipped", may_decode=True)

    # Zero frames: a declared video stream, no frame in it.
    for codec, format_, ext in (
        ("libx264", "mp4", "mp4"),
        ("libx264", "matroska", "mkv"),
        ("libvpx-vp9", "webm", "webm"),
    ):
        path = _no_frames(folder / f"zero-frames.{ext}", codec=codec, format_=format_)
        if path.exists():  # a muxer that writes nothing without a packet leaves no file at all
            corpus.append(Hostile(path.name, path, "zero frames"))
    add("header-only.mp4", bases["mp4"][: bases["mp4"].find(b"mdat") + 8], "zero frames")

    # Absurd dimensions in the header: the sample description (avc1) and the track header (tkhd) lie.
    mp4 = bases["mp4"]
    for width, height in ((65535, 65535), (0, 0), (1, 65535), (65535, 1), (40000, 40000), (0, 48), (64, 0)):
        lied = _patch_box(mp4, b"avc1", 24, struct.pack(">HH", width, height))
        lied = _patch_box(lied, b"tkhd", 4 + 76, struct.pack(">II", width << 16, height << 16))
        add(f"dimensions-{width}x{height}.mp4", lied, "absurd dimensions", may_decode=True)
    # …and a real clip whose frames pass the pixel cap (the test lowers the cap; 4K is legal by default).
    big = write_clip(folder / "big-frames.mp4", size=(1280, 720), seconds=1)
    corpus.append(Hostile(big.name, big, "frames over the pixel cap"))

    # Absurd frame rates and durations: the media header's timescale, the sample durations.
    # FFmpeg falls back on the stream's own timing for most of these lies: a clip that then decodes within
    # the caps is a clip, so `done` is allowed; what matters is that none hangs, crashes or runs unbounded.
    for timescale in (1, 0, 0xFFFFFFFF, 7):
        lied = _patch_box(mp4, b"mdhd", 4 + 8, struct.pack(">I", timescale))
        add(f"timescale-{timescale}.mp4", lied, "absurd frame rate", may_decode=True)
    for delta in (0, 0xFFFFFFFF, 1_000_000):
        lied = _patch_box(mp4, b"stts", 4 + 4 + 4, struct.pack(">I", delta))
        add(f"sample-delta-{delta}.mp4", lied, "absurd frame rate", may_decode=True)

    # Very many one-pixel frames (FFV1 takes 1x1 frames; H.264 needs even sizes).
    path = folder / "one-pixel-frames.mkv"
    with av.open(str(path), mode="w") as output:
        stream = output.add_stream("ffv1", rate=1000)
        stream.width, stream.height = 1, 1
        stream.pix_fmt = "yuv420p"
        frame = av.VideoFrame.from_ndarray(np.zeros((1, 1, 3), dtype=np.uint8), format="rgb24")
        for _ in range(one_pixel_frames):
            for packet in stream.encode(frame):
                output.mux(packet)
        for packet in stream.encode():
            output.mux(packet)
    # Legal in itself: 100 s of 1x1 video. It must stay cheap, not hang: `done` or a refusal both do.
    corpus.append(Hostile(path.name, path, "one-pixel frames", may_decode=True))

    # Audio only, subtitles only.
    for codec, format_, ext in (("pcm_s16le", "matroska", "mkv"), ("aac", "mp4", "mp4"), ("libopus", "webm", "webm")):
        path = _audio_only(folder / f"audio-only-{codec}.{ext}", codec=codec, format_=format_)
        corpus.append(Hostile(path.name, path, "audio only"))
    for codec in ("subrip", "ass"):
        path = _subtitles_only(folder / f"subtitles-only-{codec}.mkv", codec=codec)
        corpus.append(Hostile(path.name, path, "subtitles only"))

    # A real video in a container that is not allowed.
    for codec, format_, ext in (
        ("mpeg4", "avi", "avi"),
        ("flv", "flv", "flv"),
        ("libx264", "mpegts", "ts"),
        ("mpeg4", "nut", "nut"),
        ("gif", "gif", "gif"),
        ("mjpeg", "avi", "mjpeg.avi"),
        ("rawvideo", "yuv4mpegpipe", "y4m"),
        ("mpeg4", "asf", "asf"),
        ("libtheora" if "libtheora" in av.codecs_available else "theora", "ogg", "ogv"),
    ):
        try:
            path = write_clip(folder / f"container.{ext}", codec=codec, format=format_)
        except (av.error.FFmpegError, ValueError):  # an encoder this FFmpeg build lacks
            continue
        corpus.append(Hostile(path.name, path, "wrong container"))

    # Not video at all, under video names.
    disguised = {
        "photo.mp4": jpeg_bytes(size=(64, 48)),
        "bomb.mp4": png_bomb(),
        "gif.webm": gif(),
        "bmp.mkv": bmp(),
        "psd.mov": PSD,
        "doc.mp4": PDF,
        "drawing.webm": SVG,
        "page.mp4": b"<!doctype html><html><body><script>alert(1)</script></body></html>",
        "text.mkv": b"Not a video, honestly.\n" * 100,
        "zip.mp4": b"PK\x03\x04" + bytes(rng.randrange(256) for _ in range(2000)),
        "elf.mp4": b"\x7fELF\x02\x01\x01" + b"\x00" * 2000,
        "zeros.mp4": b"\x00" * 4096,
        "ones.mkv": b"\xff" * 4096,
        "noise.mp4": bytes(rng.randrange(256) for _ in range(8192)),
        "ftyp-garbage.mp4": FTYP + bytes(rng.randrange(256) for _ in range(4000)),
        "ftyp-only.mp4": FTYP,
        "ebml-garbage.mkv": b"\x1a\x45\xdf\xa3" + bytes(rng.randrange(256) for _ in range(4000)),
        "ebml-only.webm": bases["webm"][:40],
        "moov-loop.mp4": FTYP + b"\x00\x00\x00\x08moov" * 500,
        "box-size-huge.mp4": FTYP + b"\x00\x00\x00\x01mdat" + b"\xff" * 8,
        "wav.mp4": b"RIFF\x24\x08\x00\x00WAVEfmt " + b"\x00" * 2000,
        "mp3.mp4": b"ID3\x03\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x00" * 500,
        "srt.mkv": b"1\n00:00:00,000 --> 00:00:01,000\nRust\n",
        "empty.mp4": b"",
        "one-byte.mp4": b"\x00",
    }
    for name, data in disguised.items():
        add(f"disguised-{name}", data, "disguised non-video")

    # Larger than the cap (the test lowers VIDEO_MAX_BYTES to 3 MB rather than writing gigabytes).
    add("huge-clip.mp4", bases["mp4"] + b"\x00" * (4 * 1024 * 1024), "huge file")
    add("huge-noise.mkv", rng.randbytes(4 * 1024 * 1024), "huge file")
    # Longer than the duration cap (lowered by the test to 150 s, which the one-pixel clip's 100 s pass).
    long = write_clip(folder / "long.mp4", seconds=200, fps=1)
    corpus.append(Hostile(long.name, long, "too long"))
    return corpus
