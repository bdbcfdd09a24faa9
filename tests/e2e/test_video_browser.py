"""Real Chromium on the video page: upload a clip, watch its progress, read the timeline, jump to a segment.

The browser fixtures are tests/e2e/conftest.py's; screenshots land beside the photo tests'.
"""

import numpy as np
import pytest
from e2e.conftest import ARTIFACTS
from PIL import Image
from video_clips import make_clip

from modelzoo.ml.serving import CORROSION, NO_CORROSION, Prediction
from videos.models import Video

pytestmark = pytest.mark.integration


class RustStub:
    """Right about demo pictures (the share of rust-coloured pixels), so the clip's segments are known;
    the untrained test model's verdicts would be noise."""

    input_size = 32

    def classify(self, images):
        predictions = []
        for image in images:
            pixels = np.asarray(Image.open(image).convert("RGB")).astype(int)
            rusty = ((pixels[..., 0] - pixels[..., 2]) > 40) & (pixels[..., 0] > pixels[..., 1])
            probability = float(min(1.0, 2 * rusty.mean()))
            label = CORROSION if probability >= 0.5 else NO_CORROSION
            predictions.append(Prediction(label=label, probability=probability, cam=np.full((4, 4), probability)))
        return predictions


@pytest.fixture
def rust_classifier(monkeypatch):
    # The live server runs in this process (a thread), and tasks run eagerly there: one seam serves both.
    monkeypatch.setattr("videos.analysis.frame_classifier", lambda version: RustStub())


def player_time(page) -> float:
    return page.evaluate("document.getElementById('video-player').currentTime")


def test_it_uploads_a_clip_draws_its_timeline_and_seeks_to_a_clicked_segment(
    phone,
    live_server,
    transactional_db,
    active_model,
    rust_classifier,
    tmp_path,
):
    # WebM (VP9): every Chromium build plays it, with or without the proprietary codecs.
    clip = make_clip(tmp_path / "bridge.webm", seconds=8, corroded={3, 4, 5})
    phone.goto(live_server.url + "/video/")
    phone.set_input_files("#video-input", str(clip))
    phone.check("#video-share-input")
    phone.get_by_role("button", name="Check the video").click()
    status = phone.wait_for_selector("#video-status-text:has-text('Done')", timeout=60_000)
    assert "8 frames checked; segments with corrosion: 1" in status.inner_text()
    assert phone.evaluate("(p => p.value === p.max && p.max === 8)(document.getElementById('video-progress'))")
    video = Video.objects.get()
    assert video.status == "done" and phone.url.endswith(f"/video/{video.pk}/")

    # The timeline: an SVG with labelled axes, the threshold, one point per frame, the segment as a band.
    chart = phone.locator("#video-timeline svg")
    assert chart.locator("circle.frame").count() == 8
    assert chart.locator("line.threshold").count() == 1
    ticks = chart.locator("text.tick").all_text_contents()
    assert {"0:00", "0:04", "0:08"} <= set(ticks) and {"0.00", "0.50", "1.00"} <= set(ticks)
    segment = chart.locator("rect.segment")
    assert segment.count() == 1
    start = float(segment.get_attribute("data-start"))
    assert abs(start - 3.0) <= 1.0  # within one sampling step of the true start
    assert "Corrosion from 0:03" in segment.get_attribute("aria-label")
    # Key frames, each with its heatmap, both described for screen readers and actually loaded.
    pictures = phone.locator("#video-key-frames img")
    assert pictures.count() >= 2
    for index in range(pictures.count()):  # loaded lazily, as they come into view
        pictures.nth(index).scroll_into_view_if_needed()
    phone.wait_for_function(
        "Array.from(document.querySelectorAll('#video-key-frames img')).every(i => i.complete && i.naturalWidth > 0)"
    )
    assert all(alt for alt in pictures.evaluate_all("images => images.map(i => i.alt)"))

    # The player holds the uploader's clip; clicking the segment jumps there.
    phone.wait_for_function("document.getElementById('video-player').readyState >= 1", timeout=30_000)
    assert phone.evaluate("document.getElementById('video-player').videoWidth") == 64
    phone.screenshot(path=str(ARTIFACTS / "video-timeline.png"), full_page=True)
    segment.click()
    phone.wait_for_function(f"Math.abs(document.getElementById('video-player').currentTime - {start}) < 1.0")

    # The same with the keyboard: the list of segments (Enter), and the band on the chart (Space).
    for target, key in ((phone.locator("#video-segments").get_by_role("button"), "Enter"), (segment, " ")):
        phone.evaluate("(v => { v.pause(); v.currentTime = 0; })(document.getElementById('video-player'))")
        phone.wait_for_function("document.getElementById('video-player').currentTime === 0")
        target.focus()
        phone.keyboard.press(key)
        phone.wait_for_function(f"Math.abs(document.getElementById('video-player').currentTime - {start}) < 1.0")
        assert abs(player_time(phone) - start) < 1.0

    # Share the key frames with the crowd: once, as photo uploads waiting for moderation.
    phone.get_by_role("button", name="Share these frames with the crowd").click()
    phone.wait_for_selector("#video-share-frames-text:has-text('frames shared with the crowd')")
    video.refresh_from_db()
    assert len(video.shared_frames) == len(video.key_frames)
