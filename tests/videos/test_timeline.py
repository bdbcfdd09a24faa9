from videos.timeline import key_frame_indexes, segments_of


def frames(*probabilities, every=1.0):
    return [{"t": i * every, "probability": p} for i, p in enumerate(probabilities)]


def test_it_merges_consecutive_frames_over_the_threshold_into_one_segment():
    timeline = frames(0.1, 0.9, 0.8, 0.2, 0.1, 0.1, 0.7, 0.1)
    assert segments_of(timeline, threshold=0.5, gap=0.0, every=1.0) == [
        {"start": 1.0, "end": 3.0, "max_probability": 0.9},
        {"start": 6.0, "end": 7.0, "max_probability": 0.7},
    ]


def test_it_bridges_gaps_no_longer_than_the_tolerance():
    timeline = frames(0.9, 0.1, 0.9, 0.1, 0.1, 0.9)
    assert segments_of(timeline, threshold=0.5, gap=1.0, every=1.0) == [
        {"start": 0.0, "end": 3.0, "max_probability": 0.9},
        {"start": 5.0, "end": 6.0, "max_probability": 0.9},
    ]


def test_it_counts_a_frame_exactly_at_the_threshold_as_corroded():
    assert segments_of(frames(0.5), threshold=0.5, gap=0.0, every=2.0) == [
        {"start": 0.0, "end": 2.0, "max_probability": 0.5}
    ]


def test_it_finds_no_segment_in_a_clean_clip():
    assert segments_of(frames(0.1, 0.2, 0.4), threshold=0.5, gap=1.0, every=1.0) == []


def test_it_picks_each_segments_peak_and_the_least_sure_frames_as_key_frames():
    timeline = frames(0.05, 0.7, 0.95, 0.8, 0.02, 0.45, 0.01)
    segments = segments_of(timeline, threshold=0.5, gap=0.0, every=1.0)
    chosen = key_frame_indexes(timeline, segments, threshold=0.5)
    assert 2 in chosen  # the peak
    assert {5, 1} <= set(chosen)  # nearest the threshold
    assert chosen == sorted(set(chosen))
