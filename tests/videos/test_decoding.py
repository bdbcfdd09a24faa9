import pytest

from videos.decoding import DecodeError, Limits, probe, sample_frames

LIMITS = Limits(max_seconds=60, max_frame_pixels=10**6, max_frames=100, memory_mb=2048, timeout=60)


def limits(**changes) -> Limits:
    return Limits(**{**LIMITS.__dict__, **changes})


def test_it_probes_container_codec_size_and_duration(clip):
    result = probe(clip(seconds=3), limits=LIMITS)
    assert (result.codec, result.width, result.height, result.duration_s) == ("h264", 64, 48, 3.0)
    assert "mp4" in result.container


def test_it_samples_one_frame_per_step_plus_scene_changes(clip, tmp_path):
    duration, frames = sample_frames(
        clip(seconds=4, corroded={1}, fps=4), out_dir=str(tmp_path), every=2.0, limits=LIMITS
    )
    assert duration == 4.0
    # Every 2 s (0, 2) plus the cuts at 1 s (clean -> rust) and 2 s (already a sample); 3 s shows a
    # picture of the same clean kind but another seed: a cut too when it differs enough.
    times = [frame.t for frame in frames]
    assert {0.0, 1.0, 2.0} <= set(times) and times == sorted(times)


def test_it_refuses_garbage_as_unsupported(tmp_path):
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(b"\x00\x01not a video" * 500)
    with pytest.raises(DecodeError) as refused:
        probe(garbage, limits=LIMITS)
    assert refused.value.code == "unsupported"


def test_it_refuses_frames_over_the_pixel_cap_and_clips_over_the_duration_cap(clip):
    path = clip(seconds=3)
    with pytest.raises(DecodeError) as too_big:
        probe(path, limits=limits(max_frame_pixels=64 * 48 - 1))
    with pytest.raises(DecodeError) as too_long:
        probe(path, limits=limits(max_seconds=2))
    assert (too_big.value.code, too_long.value.code) == ("too_large", "too_long")


def test_it_fails_a_clip_needing_more_frames_than_the_cap(clip, tmp_path):
    with pytest.raises(DecodeError) as refused:
        sample_frames(clip(seconds=5), out_dir=str(tmp_path), every=1.0, limits=limits(max_frames=3))
    assert refused.value.code == "too_many_frames"


def test_it_kills_a_decoder_that_runs_past_its_time_limit(clip, tmp_path):
    # Far less time than the child needs even to start: it stands for a file that hangs the decoder.
    with pytest.raises(DecodeError) as refused:
        sample_frames(clip(seconds=3), out_dir=str(tmp_path), every=1.0, limits=limits(timeout=0.05))
    assert refused.value.code == "timeout"


def test_it_reports_a_decoder_that_ran_out_of_memory_instead_of_dying_with_it(clip, tmp_path):
    # Too little address space for FFmpeg's libraries: the child fails, the caller gets a reason.
    with pytest.raises(DecodeError) as refused:
        sample_frames(clip(seconds=3), out_dir=str(tmp_path), every=1.0, limits=limits(memory_mb=40))
    assert refused.value.message
