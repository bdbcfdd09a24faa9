import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db
URL = "/api/videos/"


def uploaded(uploader, path, django_capture_on_commit_callbacks, **fields) -> dict:
    """The uploader's clip, analysed (eager tasks): its API detail."""
    with django_capture_on_commit_callbacks(execute=True):
        response = uploader.client.post(
            URL, {"video": SimpleUploadedFile(path.name, path.read_bytes()), **fields}, format="multipart"
        )
    assert response.status_code == 202, response.json()
    return uploader.client.get(f"{URL}{response.json()['id']}/").json()


def test_it_renders_the_video_page_with_its_words_marked_for_the_script(client):
    response = client.get("/video/")
    assert response.status_code == 200
    page = response.content.decode()
    for needle in ('id="video-form"', 'id="video-strings"', 'id="video-urls"', "js/video.js", 'name="share"'):
        assert needle in page
    # The page hands out the voter cookie, so the script's upload and its polls carry one key.
    assert response.cookies
    assert '<a href="/video/">' in page  # in the site's navigation


def test_it_shows_a_video_page_to_whoever_may_see_the_video(
    uploader, active_model, rust_classifier, clip, django_capture_on_commit_callbacks
):
    detail = uploaded(uploader, clip(seconds=3), django_capture_on_commit_callbacks)
    page = uploader.client.get(f"/video/{detail['id']}/")
    assert page.status_code == 200 and 'data-uploader="true"' in page.content.decode()
    assert APIClient().get(f"/video/{detail['id']}/").status_code == 404


def test_it_serves_the_clip_to_its_uploader_alone_with_byte_ranges(
    uploader, active_model, rust_classifier, clip, django_capture_on_commit_callbacks
):
    path = clip(seconds=3)
    data = path.read_bytes()
    detail = uploaded(uploader, path, django_capture_on_commit_callbacks, share="true")
    url = f"/videos/{detail['id']}/clip/"
    whole = uploader.client.get(url)
    assert whole.status_code == 200 and whole["Content-Type"] == "video/mp4"
    assert whole["Accept-Ranges"] == "bytes" and b"".join(whole.streaming_content) == data
    part = uploader.client.get(url, HTTP_RANGE="bytes=10-19")
    assert part.status_code == 206 and part.content == data[10:20]
    assert part["Content-Range"] == f"bytes 10-19/{len(data)}"
    tail = uploader.client.get(url, HTTP_RANGE="bytes=-5")
    assert tail.status_code == 206 and tail.content == data[-5:]
    assert uploader.client.get(url, HTTP_RANGE=f"bytes={len(data)}-").status_code == 416
    # Shared or not, the footage is its uploader's: a stranger sees the timeline, never the clip.
    assert APIClient().get(f"{URL}{detail['id']}/").status_code == 200
    assert APIClient().get(url).status_code == 404


def test_it_shares_frames_through_the_api_for_the_uploader_only(
    uploader, active_model, rust_classifier, clip, django_capture_on_commit_callbacks
):
    from uploads.models import Upload

    detail = uploaded(uploader, clip(seconds=6, corroded={2, 3}), django_capture_on_commit_callbacks, share="true")
    share_url = f"{URL}{detail['id']}/share-frames/"
    assert APIClient().post(share_url).status_code == 404
    with django_capture_on_commit_callbacks(execute=True):
        response = uploader.client.post(share_url)
    assert response.status_code == 200, response.json()
    frames = response.json()["frames"]
    assert [frame["t"] for frame in frames] == [key_frame["t"] for key_frame in detail["key_frames"]]
    assert uploader.client.post(share_url).json() == {"frames": frames}
    assert Upload.objects.count() == len(frames)
    assert uploader.client.get(f"{URL}{detail['id']}/").json()["shared_frames"] == frames


def test_it_answers_409_when_sharing_frames_of_an_unshared_video(
    uploader, active_model, rust_classifier, clip, django_capture_on_commit_callbacks
):
    detail = uploaded(uploader, clip(seconds=3), django_capture_on_commit_callbacks)
    response = uploader.client.post(f"{URL}{detail['id']}/share-frames/")
    assert response.status_code == 409 and response.json()["code"] == "not_shared"
