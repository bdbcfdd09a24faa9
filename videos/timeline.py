"""From per-frame probabilities to the clip's corrosion segments and key frames. Pure functions."""

from __future__ import annotations

from collections.abc import Sequence

# The frames the model is least sure of, kept beside each segment's peak (for the crowd, later).
UNSURE_KEY_FRAMES = 3


def segments_of(frames: Sequence[dict], *, threshold: float, gap: float, every: float) -> list[dict]:
    """Runs of frames with probability >= threshold, merged across gaps of at most `gap` seconds.

    A segment ends where its last frame's sampling step ends (the next sample, or `every` later), so a
    single corroded sample covers the time it stands for.
    """
    segments: list[dict] = []
    for index, frame in enumerate(frames):
        if frame["probability"] < threshold:
            continue
        end = frames[index + 1]["t"] if index + 1 < len(frames) else frame["t"] + every
        end = min(end, frame["t"] + every)
        if segments and frame["t"] - segments[-1]["end"] <= gap + 1e-6:
            segments[-1]["end"] = end
            segments[-1]["max_probability"] = max(segments[-1]["max_probability"], frame["probability"])
        else:
            segments.append({"start": frame["t"], "end": end, "max_probability": frame["probability"]})
    return [{key: round(value, 3) for key, value in segment.items()} for segment in segments]


def key_frame_indexes(frames: Sequence[dict], segments: Sequence[dict], *, threshold: float) -> list[int]:
    """The peak frame of each segment, then the frames nearest the threshold; in time order, no repeats."""
    chosen: list[int] = []
    for segment in segments:
        inside = [i for i, f in enumerate(frames) if segment["start"] <= f["t"] < segment["end"] + 1e-6]
        if inside:
            chosen.append(max(inside, key=lambda i: frames[i]["probability"]))
    by_doubt = sorted(range(len(frames)), key=lambda i: abs(frames[i]["probability"] - threshold))
    chosen += [i for i in by_doubt if i not in chosen][:UNSURE_KEY_FRAMES]
    return sorted(set(chosen))
