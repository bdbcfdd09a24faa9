from contextlib import nullcontext
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient
from video_clips import make_audio_only, make_clip

from videos.models import Video

pytestmark = pytest.mark.django_db
URL = "/api/videos/"


def post_video(client, path: Path | None = None, *, data: bytes | None = None, name: str = "clip.mp4", **fields):
    data = path.read_bytes() if path is not None else data
    return client.post(
        URL, {"video": SimpleUploadedFile(name, data, content_type="video/mp4"), **fields}, format="multipart"
    )


def files_under(root) -> list[Path]:
    return [p for p in Path(root).rglob("*") if p.is_file()] if Path(root).exists() else []


def uploaded(uploader, clip_path, django_capture_on_commit_callbacks, **fields) -> dict:
    with django_capture_on_commit_callbacks(execute=True):
        response = post_video(uploader.client, clip_path, **fields)
    assert response.status_code == 202, response.json()
    assert set(response.json()) == {"id"}
    return uploader.client.get(f"{URL}{response.json()['id']}/").json()


def test_it_finds_the_corrosion_segments_within_one_sampling_step(
    uploader, active_model, rust_classifier, clip, django_capture_on_commit_callbacks
):
    detail = uploaded(uploader, clip(seconds=10, corroded={2, 3, 4, 7}), django_capture_on_commit_callbacks)
    assert detail["status"] == "done", detail["failure_reason"]
    assert detail["progress"] == {"done": 10, "total": 10}
    assert detail["duration_s"] == pytest.approx(10.0)
    assert detail["model_version"] == active_model.version
    assert [frame["t"] for frame in detail["frames"]] == [float(s) for s in range(10)]
    found = [(segment["start"], segment["end"]) for segment in detail["segments"]]
    assert len(found) == 2
    for (start, end), (true_start, true_end) in zip(found, [(2, 5), (7, 8)]):
        assert abs(start - true_start) <= 1.0 and abs(end - true_end) <= 1.0
    assert all(segment["max_probability"] >= 0.5 for segment in detail["segments"])


def test_it_classifies_frames_in_batches(
    uploader, active_model, rust_classifier, clip, django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setattr("videos.analysis.BATCH_SIZE", 4)
    detail = uploaded(uploader, clip(seconds=10, corroded={5}), django_capture_on_commit_callbacks)
    assert rust_classifier.calls == [4, 4, 2]
    assert detail["progress"] == {"done": 10, "total": 10}


def test_it_serves_key_frames_and_heatmaps_to_the_uploader_alone(
    uploader, active_model, rust_classifier, clip, django_capture_on_commit_callbacks
):
    detail = uploaded(uploader, clip(seconds=6, corroded={3}), django_capture_on_commit_callbacks)
    key_frames = detail["key_frames"]
    assert 3.0 in [key_frame["t"] for key_frame in key_frames]
    first = key_frames[0]
    assert set(first) == {"t", "image_url", "heatmap_url", "probability"}
    image = uploader.client.get(first["image_url"])
    assert image.status_code == 200 and b"".join(image.streaming_content)[:2] == b"\xff\xd8"
    assert uploader.client.get(first["heatmap_url"]).status_code == 200
    stranger = APIClient()
    assert stranger.get(first["image_url"]).status_code == 404
    assert stranger.get(f"{URL}{detail['id']}/").status_code == 404


def test_it_shows_a_shared_video_to_anyone_with_its_id(
    uploader, active_model, rust_classifier, clip, django_capture_on_commit_callbacks
):
    detail = uploaded(uploader, clip(seconds=3), django_capture_on_commit_callbacks, share="true")
    assert detail["shared"] is True
    assert APIClient().get(f"{URL}{detail['id']}/").json()["status"] == "done"


def test_it_reports_no_model_when_none_is_trained(uploader, clip):
    detail = uploaded(uploader, clip(seconds=2), lambda **kw: nullcontext())
    assert (detail["status"], detail["frames"], detail["segments"]) == ("no_model", [], [])


@pytest.mark.parametrize(
    ("data", "status"),
    [
        (b"", 400),
        (b"\x00\x01not a video" * 200, 415),
        (b"GIF89a" + b"\x00" * 500, 415),
    ],
)
def test_it_answers_4xx_to_garbage_and_leaves_nothing(api_client, media_root, data, status):
    response = post_video(api_client, data=data)
    assert response.status_code == status
    assert set(response.json()) >= {"detail", "code"}
    assert not Video.objects.exists() and files_under(media_root) == []


def test_it_accepts_webm_and_finds_its_segment(
    uploader, active_model, rust_classifier, tmp_path, django_capture_on_commit_callbacks
):
    clip = make_clip(tmp_path / "clip.webm", seconds=4, corroded={2})
    detail = uploaded(uploader, clip, django_capture_on_commit_callbacks)
    assert detail["status"] == "done", detail["failure_reason"]
    assert [(s["start"], s["end"]) for s in detail["segments"]] == [(2.0, 3.0)]


@pytest.mark.parametrize("kind", ["audio_only", "avi"])
def test_it_answers_415_to_audio_only_files_and_other_containers(api_client, media_root, tmp_path, kind):
    if kind == "audio_only":
        path = make_audio_only(tmp_path / "sound.mkv")
    else:
        path = make_clip(tmp_path / "clip.avi", seconds=2, corroded={1})
    response = post_video(api_client, path)
    assert (response.status_code, response.json()["code"]) == (415, "unsupported")
    assert not Video.objects.exists() and files_under(media_root) == []


def test_it_answers_415_to_a_truncated_mp4_and_leaves_nothing(api_client, media_root, clip):
    data = clip(seconds=4).read_bytes()
    response = post_video(api_client, data=data[: len(data) // 2])
    assert response.status_code in (400, 415)
    assert not Video.objects.exists() and files_under(media_root) == []


def test_it_answers_413_to_an_oversized_video(api_client, settings, media_root, clip):
    path = clip(seconds=3)
    settings.VIDEO_MAX_BYTES = path.stat().st_size - 1
    response = post_video(api_client, path)
    assert response.status_code == 413 and response.json()["code"] == "too_large"
    # Declared larger than the cap plus the multipart framing: refused before the body is read.
    settings.VIDEO_MAX_BYTES = 1024
    assert post_video(api_client, data=b"0" * (200 * 1024)).status_code == 413
    assert not Video.objects.exists() and files_under(media_root) == []


def test_it_answers_413_to_a_video_over_the_duration_or_pixel_cap(api_client, settings, media_root, clip):
    path = clip(seconds=4)
    settings.VIDEO_MAX_SECONDS = 3
    assert post_video(api_client, path).json()["code"] == "too_long"
    settings.VIDEO_MAX_SECONDS = 60
    settings.VIDEO_MAX_FRAME_PIXELS = 100
    response = post_video(api_client, path)
    assert (response.status_code, response.json()["code"]) == (413, "too_large")
    assert not Video.objects.exists() and files_under(media_root) == []


def test_it_answers_400_without_exactly_one_video_field(api_client, clip):
    path = clip(seconds=2)
    assert (
        api_client.post(URL, {"photo": SimpleUploadedFile("a.mp4", path.read_bytes())}, format="multipart").status_code
        == 400
    )
    assert post_video(api_client, path, share="maybe").status_code == 400
    assert not Video.objects.exists()


def test_it_deletes_a_video_and_its_files_for_the_uploader_only(
    uploader, active_model, rust_classifier, clip, media_root, django_capture_on_commit_callbacks
):
    detail = uploaded(uploader, clip(seconds=4, corroded={1}), django_capture_on_commit_callbacks)
    videos_folder = media_root / "unshared" / "videos"
    assert len(files_under(videos_folder)) >= 3  # the clip, a key frame and its heatmap
    assert APIClient().delete(f"{URL}{detail['id']}/").status_code == 404
    with django_capture_on_commit_callbacks(execute=True):
        assert uploader.client.delete(f"{URL}{detail['id']}/").status_code == 204
    assert not Video.objects.exists() and files_under(videos_folder) == []


def test_it_limits_how_fast_one_voter_uploads(uploader, settings, clip):
    settings.UPLOAD_RATE_PER_VOTER = 1
    path = clip(seconds=2)
    assert post_video(uploader.client, path).status_code == 202
    response = post_video(uploader.client, path)
    assert response.status_code == 429 and response.json()["code"] == "throttled"
