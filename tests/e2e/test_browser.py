"""Real Chromium against a live server: what a volunteer, an uploader and an expert actually do.

Screenshots land in $E2E_ARTIFACTS_DIR, by default artifacts/e2e/ (ignored by git), for a person
to look at: the steps each test takes, and the page as each test left it (also when it failed).
"""

from pathlib import Path

import pytest
from e2e.conftest import ARTIFACTS

from factories import VoterFactory, jpeg_bytes, make_image
from quiz.models import Image, Vote
from uploads.models import Upload

pytestmark = pytest.mark.integration


def test_it_takes_three_quiz_rounds_with_the_keyboard(phone, live_server, transactional_db):
    for _ in range(16):
        make_image(label=None)
    phone.goto(live_server.url + "/")
    for round_number in range(3):
        boxes = phone.locator("input[name=corrosion]")
        assert boxes.count() == 4
        phone.keyboard.press("Tab")  # skip link
        boxes.first.focus()
        phone.keyboard.press("Space")  # tick the first photo with the keyboard
        phone.screenshot(path=str(ARTIFACTS / f"quiz-round-{round_number + 1}.png"), full_page=True)
        phone.get_by_role("button", name="Submit").click()
        phone.wait_for_selector(".message.success")
    assert Vote.objects.count() == 12
    assert Vote.objects.filter(corrosion=True).count() == 3
    assert "12 in total" in phone.inner_text(".messages")


def test_it_uploads_a_photo_shows_the_verdict_and_takes_a_correction(
    phone, live_server, transactional_db, active_model, tmp_path
):
    photo = tmp_path / "rusty.jpg"
    photo.write_bytes(jpeg_bytes(size=(400, 300)))
    phone.goto(live_server.url + "/upload/")
    phone.set_input_files("#image-input", str(photo))
    phone.get_by_role("button", name="Check for corrosion").click()
    verdict = phone.wait_for_selector(".verdict", timeout=30_000)
    assert "probability of corrosion" in verdict.inner_text()
    assert phone.locator(".heatmap img").evaluate("img => img.complete && img.naturalWidth > 0")
    phone.screenshot(path=str(ARTIFACTS / "upload-verdict.png"), full_page=True)
    phone.get_by_role("button", name="No corrosion").click()
    phone.wait_for_selector(".correction .message.success")
    upload = Upload.objects.get()
    assert upload.status == "done" and upload.corrected_label == "no_corrosion"
    assert Vote.objects.get().corrosion is False


def controversial_image(yes: int, no: int) -> Image:
    """An undecided photo the crowd splits on, as the review queue lists it."""
    image = make_image(label=None)
    for corrosion, count in ((True, yes), (False, no)):
        for _ in range(count):
            Vote.objects.create(voter=VoterFactory(), image=image, corrosion=corrosion, expertise="none")
    image.votes_yes, image.votes_no, image.vote_count = yes, no, yes + no
    image.save()
    return image


def test_it_logs_in_as_staff_and_sets_an_expert_label_in_the_review_queue(desktop, live_server, transactional_db):
    from django.contrib.auth.models import User

    User.objects.create_superuser("expert", "expert@example.org", "correct horse battery staple")
    disputed = controversial_image(yes=3, no=2)
    other = controversial_image(yes=4, no=4)
    desktop.goto(live_server.url + "/admin/quiz/reviewitem/")
    assert "/admin/login/" in desktop.url  # the queue is staff-only
    desktop.fill("#id_username", "expert")
    desktop.fill("#id_password", "correct horse battery staple")
    desktop.get_by_role("button", name="Log in").click()
    desktop.wait_for_selector("#result_list")
    assert desktop.url.endswith("/admin/quiz/reviewitem/")
    desktop.screenshot(path=str(ARTIFACTS / "review-queue.png"), full_page=True)
    row = desktop.locator("#result_list tbody tr", has=desktop.locator(f'img[alt="Photo {disputed.pk} under review"]'))
    row.get_by_role("button", name="No corrosion").click()
    message = desktop.wait_for_selector(".messagelist li")
    assert f"Photo {disputed.pk}: expert label set to no corrosion." in message.inner_text()
    disputed.refresh_from_db()
    assert (disputed.expert_label, disputed.effective_label, disputed.label_source) == (
        "no_corrosion",
        "no_corrosion",
        "expert",
    )
    assert Image.objects.get(pk=other.pk).expert_label is None  # only the clicked row changed
    # Decided photos leave the queue.
    assert desktop.locator(f'img[alt="Photo {disputed.pk} under review"]').count() == 0
    assert desktop.locator(f'img[alt="Photo {other.pk} under review"]').count() == 1


def test_it_reports_a_quiz_photo_through_the_page(phone, live_server, transactional_db):
    from quiz.models import Report

    images = [make_image(label=None) for _ in range(4)]
    phone.goto(live_server.url + "/")
    tile = phone.locator(".tile-wrap").first
    reported_id = int(tile.locator("input[name=corrosion]").get_attribute("value"))
    # With JavaScript the link opens a dialog on the quiz page, worked with the keyboard alone.
    tile.get_by_role("link", name="Report this photo").focus()
    phone.keyboard.press("Enter")
    dialog = phone.get_by_role("dialog", name="Report this photo")
    dialog.wait_for()
    dialog.get_by_role("radio", name="Shows personal information").check()
    phone.screenshot(path=str(ARTIFACTS / "report-dialog.png"), full_page=True)
    dialog.get_by_role("button", name="Send report").click()
    phone.wait_for_selector(".report-done")
    assert "Reported — thank you." in tile.inner_text()
    report = Report.objects.get()
    assert (report.image_id, report.reason) == (reported_id, "personal_information")
    assert Image.objects.get(pk=reported_id).report_count == 1
    # Without JavaScript: the link's own page, then back to the quiz with a thank-you.
    other = next(image.pk for image in images if image.pk != reported_id)
    phone.goto(f"{live_server.url}/quiz/report/{other}/")
    phone.get_by_role("radio", name="Not relevant").check()
    phone.get_by_role("button", name="Send report").click()
    phone.wait_for_selector(".message.success")
    assert "Thank you for the report" in phone.inner_text(".messages")
    assert phone.url == live_server.url + "/"
    assert Report.objects.filter(image_id=other, reason="not_relevant").exists()


def test_it_uploads_several_photos_at_once_unshared_by_default_and_deletes_one(
    phone, live_server, transactional_db, active_model, tmp_path, settings
):
    photos = []
    for number in range(3):
        photo = tmp_path / f"pipe-{number}.jpg"
        photo.write_bytes(jpeg_bytes(size=(400, 300)))
        photos.append(str(photo))
    phone.goto(live_server.url + "/upload/")
    share = phone.get_by_label("Share with the crowd")
    assert share.is_visible() and not share.is_checked()
    phone.set_input_files("#image-input", photos)
    assert phone.inner_text(".dropzone-text") == "Photos chosen: 3"
    phone.get_by_role("button", name="Check for corrosion").click()
    items = phone.locator(".upload-result")
    # Each photo is its own upload, listed by name, and each reaches its own verdict and heatmap.
    phone.wait_for_function("document.querySelectorAll('.upload-result .verdict').length === 3", timeout=30_000)
    assert items.count() == 3
    assert [items.nth(i).locator(".file-name").inner_text() for i in range(3)] == [f"pipe-{n}.jpg" for n in range(3)]
    for i in range(3):
        assert "probability of corrosion" in items.nth(i).locator(".verdict").inner_text()
        # Unshared: the heatmap comes through Django, to its uploader's cookie alone; wait for it to load.
        heatmap = items.nth(i).locator(".heatmap img")
        heatmap.evaluate("img => img.complete || new Promise(done => img.addEventListener('load', done))")
        assert heatmap.evaluate("img => img.naturalWidth > 0")
    phone.screenshot(path=str(ARTIFACTS / "upload-several.png"), full_page=True)
    uploads = list(Upload.objects.all())
    assert len(uploads) == 3 and all(upload.status == "done" and not upload.shared for upload in uploads)
    assert len({upload.uploader_key for upload in uploads}) == 1

    # "My uploads" lists the three, each with its private thumbnail; deleting one leaves two, and no file of it.
    phone.goto(live_server.url + "/uploads/mine/")
    rows = phone.locator(".my-upload")
    assert rows.count() == 3
    for i in range(3):
        # Lazy thumbnails load once scrolled to; each comes through Django to its uploader's cookie alone.
        thumbnail = rows.nth(i).locator("img")
        thumbnail.scroll_into_view_if_needed()
        thumbnail.evaluate("img => img.complete || new Promise(done => img.addEventListener('load', done))")
        assert thumbnail.evaluate("img => img.naturalWidth > 0")
    doomed = Upload.objects.order_by("-created_at").first()
    doomed_files = [doomed.image.file.name, doomed.image.thumbnail.name, doomed.heatmap.name]
    rows.first.get_by_role("button", name="Delete").click()
    phone.wait_for_function("document.querySelectorAll('.my-upload').length === 2")
    phone.screenshot(path=str(ARTIFACTS / "my-uploads-after-delete.png"), full_page=True)
    assert not Upload.objects.filter(pk=doomed.pk).exists() and Upload.objects.count() == 2
    media = Path(settings.MEDIA_ROOT)
    assert not any((media / name).exists() for name in doomed_files)
