import re

import pytest
from django.test import Client

from factories import make_image, unique_address
from quiz.models import Report

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser():
    """No JavaScript, CSRF checked as in production, an address of its own."""
    return Client(enforce_csrf_checks=True, REMOTE_ADDR=unique_address())


def test_it_links_every_quiz_photo_to_its_report_page(client):
    images = [make_image(label=None) for _ in range(4)]
    html = client.get("/").content.decode()
    ids = [int(v) for v in re.findall(r'name="corrosion" value="(\d+)"', html)]
    assert sorted(ids) == sorted(i.pk for i in images)
    for image_id in ids:
        assert f'href="/quiz/report/{image_id}/" data-api="/api/quiz/images/{image_id}/report/"' in html
    assert len(re.findall(r"Report this photo<span class=\"sr-only\"> [1-4]</span></a>", html)) == 4
    assert 'src="/static/js/quiz.js"' in html


def test_it_reports_a_photo_without_javascript_and_goes_back_to_the_quiz(browser):
    image = make_image(label=None)
    page = browser.get(f"/quiz/report/{image.pk}/")
    html = page.content.decode()
    assert page.status_code == 200
    for value in ("inappropriate", "personal_information", "not_relevant"):
        assert f'<input type="radio" name="reason" value="{value}" required>' in html
    assert image.display_url in html and 'name="viewport"' in html
    csrf = browser.cookies["csrftoken"].value
    response = browser.post(
        f"/quiz/report/{image.pk}/", {"reason": "not_relevant", "csrfmiddlewaretoken": csrf}, follow=True
    )
    assert response.redirect_chain == [("/", 302)]
    assert "Thank you for the report" in response.content.decode()
    assert Report.objects.get().reason == "not_relevant"


def test_it_refuses_a_post_without_the_csrf_token(browser):
    image = make_image(label=None)
    assert browser.post(f"/quiz/report/{image.pk}/", {"reason": "not_relevant"}).status_code == 403
    assert not Report.objects.exists()


def test_it_asks_again_for_a_missing_reason(client):
    image = make_image(label=None)
    response = client.post(f"/quiz/report/{image.pk}/", {"reason": "ugly"}, follow=True)
    assert response.redirect_chain == [(f"/quiz/report/{image.pk}/", 302)]
    assert "Please choose a reason" in response.content.decode()
    assert not Report.objects.exists()


def test_it_thanks_a_second_report_without_recording_it(client):
    image = make_image(label=None)
    client.post(f"/quiz/report/{image.pk}/", {"reason": "inappropriate"})
    response = client.post(f"/quiz/report/{image.pk}/", {"reason": "not_relevant"}, follow=True)
    assert "already reported" in response.content.decode()
    assert list(Report.objects.values_list("reason", flat=True)) == ["inappropriate"]


def test_it_answers_404_for_a_photo_not_in_the_quiz(client):
    hidden = make_image(label=None, excluded=True, excluded_reason="blurry")
    assert client.get(f"/quiz/report/{hidden.pk}/").status_code == 404
    assert client.get(f"/quiz/report/{hidden.pk + 1000}/").status_code == 404


def test_it_throttles_reports_from_the_page(client, settings):
    settings.QUIZ_REPORT_RATE_PER_VOTER = 1
    first, second = make_image(label=None), make_image(label=None)
    client.post(f"/quiz/report/{first.pk}/", {"reason": "inappropriate"})
    response = client.post(f"/quiz/report/{second.pk}/", {"reason": "inappropriate"})
    assert response.status_code == 429 and response["Retry-After"]
    assert Report.objects.count() == 1
