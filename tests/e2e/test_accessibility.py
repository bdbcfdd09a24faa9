"""axe-core in real Chromium on every page a volunteer or an uploader sees: no serious or critical violation.

The checks run on a phone's screen (where the site is used most) and, for the quiz, on a desktop's;
pages are checked in the state a person meets them (a round on screen, the report dialog open, a
verdict with its heatmap).
"""

import pytest
from e2e.accessibility import assert_no_serious_axe_violations
from e2e.conftest import model_history

from factories import jpeg_bytes, make_image
from uploads.models import Upload

pytestmark = pytest.mark.integration


def test_it_finds_no_serious_violation_on_the_quiz(phone, desktop, live_server, transactional_db):
    for _ in range(4):
        make_image(label=None)
    for page in (phone, desktop):
        page.goto(live_server.url + "/")
        page.wait_for_selector("input[name=corrosion]")
        assert_no_serious_axe_violations(page)
    # The report dialog, open over the round.
    phone.locator(".report-link").first.click()
    phone.get_by_role("dialog").wait_for()
    assert_no_serious_axe_violations(phone)


def test_it_finds_no_serious_violation_on_the_report_page_and_the_empty_quiz(phone, live_server, transactional_db):
    image = make_image(label=None)
    phone.goto(f"{live_server.url}/quiz/report/{image.pk}/")
    assert_no_serious_axe_violations(phone)
    image.delete()
    phone.goto(live_server.url + "/")
    phone.get_by_role("heading", name="Nothing left to label").wait_for()
    assert_no_serious_axe_violations(phone)


def test_it_finds_no_serious_violation_on_the_upload_result_and_my_uploads_pages(
    phone, live_server, transactional_db, active_model, tmp_path
):
    phone.goto(live_server.url + "/upload/")
    assert_no_serious_axe_violations(phone)
    photo = tmp_path / "rusty.jpg"
    photo.write_bytes(jpeg_bytes(size=(400, 300)))
    phone.set_input_files("#image-input", str(photo))
    phone.get_by_role("button", name="Check for corrosion").click()
    phone.wait_for_selector(".verdict", timeout=30_000)
    assert_no_serious_axe_violations(phone)  # the verdict and heatmap the script drew on the upload page
    upload = Upload.objects.get()
    phone.goto(f"{live_server.url}/upload/{upload.pk}/")
    phone.wait_for_selector(".heatmap img")
    assert_no_serious_axe_violations(phone)
    phone.goto(live_server.url + "/uploads/mine/")
    phone.wait_for_selector(".my-upload")
    assert_no_serious_axe_violations(phone)


def test_it_finds_no_serious_violation_on_the_model_card_and_your_part(phone, desktop, live_server, transactional_db):
    phone.goto(live_server.url + "/model/")  # before any model
    assert_no_serious_axe_violations(phone)
    model_history()
    for _ in range(4):
        make_image(label=None)
    for page in (phone, desktop):
        page.goto(live_server.url + "/model/")
        page.locator("table.forecast").wait_for()
        assert_no_serious_axe_violations(page)
    phone.goto(live_server.url + "/me/")  # a newcomer
    assert_no_serious_axe_violations(phone)
    phone.goto(live_server.url + "/")
    phone.locator("input[name=corrosion]").first.check()
    phone.get_by_role("button", name="Submit").click()
    phone.wait_for_selector(".message.success")
    assert_no_serious_axe_violations(phone)  # the quiz with its community strip after a round
    phone.goto(live_server.url + "/me/")
    phone.locator(".me-votes").wait_for()
    assert_no_serious_axe_violations(phone)


def test_it_finds_no_serious_violation_on_the_video_page(phone, live_server, transactional_db):
    phone.goto(live_server.url + "/video/")
    assert_no_serious_axe_violations(phone)


def test_it_finds_no_serious_violation_on_the_not_found_page(phone, live_server, transactional_db):
    phone.goto(live_server.url + "/upload/00000000-0000-0000-0000-000000000000/")
    phone.get_by_role("heading", name="Page not found").wait_for()
    assert_no_serious_axe_violations(phone)


def test_it_reports_a_violation_it_is_shown(phone, live_server, transactional_db):
    """The check itself can fail: an unlabelled field and a photo without alt text are caught."""
    phone.goto(live_server.url + "/upload/")
    phone.evaluate("""() => document.querySelector("h1").insertAdjacentHTML(
        "afterend", '<img src="/static/css/site.css"><input type="text" name="nameless">')""")
    with pytest.raises(AssertionError) as failure:
        assert_no_serious_axe_violations(phone)
    assert "image-alt" in str(failure.value) and "label" in str(failure.value)
