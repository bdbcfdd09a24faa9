import pytest
from rest_framework.test import APIClient

from factories import make_image, unique_address
from quiz import throttles
from quiz.models import Image, Report

pytestmark = pytest.mark.django_db


def url(image_id: int) -> str:
    return f"/api/quiz/images/{image_id}/report/"


@pytest.fixture
def volunteer_client():
    """Keeps its voter cookie; an address of its own, so that other tests' reports do not count against it."""
    return APIClient(REMOTE_ADDR=unique_address())


@pytest.fixture
def image(db):
    return make_image(label=None)


def test_it_records_a_report_and_answers_201(volunteer_client, image):
    response = volunteer_client.post(url(image.pk), {"reason": "personal_information"}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert (body["image_id"], body["reason"]) == (image.pk, "personal_information")
    report = Report.objects.get()
    assert (report.image_id, report.reason) == (image.pk, "personal_information")
    assert Image.objects.get(pk=image.pk).report_count == 1


def test_it_answers_409_to_a_second_report_of_the_same_voter_and_changes_nothing(volunteer_client, image):
    volunteer_client.post(url(image.pk), {"reason": "inappropriate"}, format="json")
    response = volunteer_client.post(url(image.pk), {"reason": "not_relevant"}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "already_reported" and response.json()["detail"]
    assert list(Report.objects.values_list("reason", flat=True)) == ["inappropriate"]
    assert Image.objects.get(pk=image.pk).report_count == 1


def test_it_hides_the_photo_after_two_voters_and_then_answers_404(image, settings):
    settings.QUIZ_REPORTS_TO_HIDE = 2
    for _ in range(2):
        assert APIClient().post(url(image.pk), {"reason": "inappropriate"}, format="json").status_code == 201
    image.refresh_from_db()
    assert image.hidden_by_reports and image.excluded
    response = APIClient().post(url(image.pk), {"reason": "inappropriate"}, format="json")
    assert (response.status_code, response.json()["code"]) == (404, "not_found")
    assert Report.objects.count() == 2


def test_it_answers_404_to_an_unknown_or_excluded_photo(volunteer_client):
    excluded = make_image(label=None, excluded=True, excluded_reason="blurry")
    for image_id in (excluded.pk, excluded.pk + 1000, "-1", "x", "9" * 30):
        response = volunteer_client.post(url(image_id), {"reason": "inappropriate"}, format="json")
        assert response.status_code == 404 and response.json()["detail"]
    assert not Report.objects.exists()


@pytest.mark.parametrize("payload", [{"reason": "ugly"}, {"reason": ""}, {}, {"reason": ["inappropriate"]}])
def test_it_answers_400_to_a_wrong_reason(volunteer_client, image, payload):
    response = volunteer_client.post(url(image.pk), payload, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid" and "reason" in response.json()["errors"]
    assert not Report.objects.exists()


def test_it_answers_429_with_retry_after_per_voter(volunteer_client, settings, fake_clock):
    fake_clock(throttles).now = 1000 * throttles.WINDOW_SECONDS + 20
    settings.QUIZ_REPORT_RATE_PER_VOTER = 2
    images = [make_image(label=None) for _ in range(3)]
    codes = [volunteer_client.post(url(i.pk), {"reason": "inappropriate"}, format="json").status_code for i in images]
    assert codes == [201, 201, 429]
    response = volunteer_client.post(url(images[2].pk), {"reason": "inappropriate"}, format="json")
    assert response["Retry-After"] == str(throttles.WINDOW_SECONDS - 20)
    assert response.json()["code"] == "throttled"
    assert Report.objects.count() == 2


def test_it_limits_one_address_to_ten_times_the_voter_limit(settings):
    settings.QUIZ_REPORT_RATE_PER_VOTER = 1
    address = unique_address()
    images = [make_image(label=None) for _ in range(11)]
    # A fresh cookie each time: only the address can hold such a client back.
    codes = [
        APIClient().post(url(i.pk), {"reason": "inappropriate"}, format="json", REMOTE_ADDR=address).status_code
        for i in images
    ]
    assert codes == [201] * 10 + [429]


def test_it_keeps_its_limits_apart_from_the_quizs(volunteer_client, image, settings):
    settings.QUIZ_RATE_PER_VOTER = 1
    assert volunteer_client.get("/api/quiz/round/").status_code == 200
    assert volunteer_client.get("/api/quiz/round/").status_code == 429
    assert volunteer_client.post(url(image.pk), {"reason": "inappropriate"}, format="json").status_code == 201
