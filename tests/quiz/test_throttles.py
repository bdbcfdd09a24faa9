import uuid

import pytest

from factories import make_image, unique_address
from quiz import throttles
from quiz.throttles import rate_limits_hit

pytestmark = pytest.mark.django_db
URL = "/api/quiz/round/"


def test_it_counts_requests_per_window_and_starts_afresh_in_the_next(fake_clock):
    clock = fake_clock(throttles)
    clock.now = 1000 * throttles.WINDOW_SECONDS + 20
    bucket = f"test:{uuid.uuid4().hex}"
    assert [rate_limits_hit((bucket, 3)) for _ in range(3)] == [None, None, None]
    assert rate_limits_hit((bucket, 3)) == throttles.WINDOW_SECONDS - 20  # seconds left in this window
    clock.advance(throttles.WINDOW_SECONDS - 20)
    assert rate_limits_hit((bucket, 3)) is None


def test_it_is_off_when_the_limit_is_zero():
    bucket = f"test:{uuid.uuid4().hex}"
    assert all(rate_limits_hit((bucket, 0)) is None for _ in range(100))


def test_it_answers_429_with_retry_after_to_a_fast_voter(api_client, settings, fake_clock):
    fake_clock(throttles).now = 1000 * throttles.WINDOW_SECONDS + 20
    settings.QUIZ_RATE_PER_VOTER = 3
    make_image(label=None)
    codes = [api_client.get(URL).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    response = api_client.get(URL)
    assert response["Retry-After"] == str(throttles.WINDOW_SECONDS - 20)  # when the next window opens


def test_it_limits_one_address_across_fresh_cookies(settings):
    from rest_framework.test import APIClient

    settings.QUIZ_RATE_PER_IP = 2
    address = f"198.51.100.{uuid.uuid4().int % 250}"
    codes = [APIClient().get(URL, REMOTE_ADDR=address).status_code for _ in range(3)]
    assert codes == [200, 200, 429]


def test_it_throttles_the_html_page_too(client, settings):
    settings.QUIZ_RATE_PER_VOTER = 1
    assert client.get("/").status_code == 200
    assert client.get("/").status_code == 429


def test_it_limits_one_address_on_the_html_page_like_the_api(settings, fake_clock):
    from django.test import Client
    from rest_framework.test import APIClient

    fake_clock(throttles).now = 1000 * throttles.WINDOW_SECONDS + 20
    settings.QUIZ_RATE_PER_IP = 2
    address = unique_address()
    # Fresh cookies each time: only the address can hold such a client back.
    assert Client().get("/", REMOTE_ADDR=address).status_code == 200
    assert APIClient().get(URL, REMOTE_ADDR=address).status_code == 200
    refused = Client().get("/", REMOTE_ADDR=address)
    assert refused.status_code == 429 and refused["Retry-After"] == str(throttles.WINDOW_SECONDS - 20)


def test_it_gives_clients_behind_the_trusted_proxy_their_own_buckets(settings):
    from rest_framework.test import APIClient

    settings.QUIZ_RATE_PER_IP = 1
    settings.TRUSTED_PROXY_COUNT = 1
    proxy, first, second = unique_address(), unique_address(), unique_address()

    def get(client_address: str, sent: str = "") -> int:
        chain = f"{sent}, {client_address}" if sent else client_address
        return APIClient().get(URL, REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=chain).status_code

    assert get(first) == 200
    assert get(second) == 200  # the same proxy address, another client
    assert get(first) == 429
    assert get(first, sent=unique_address()) == 429  # its own X-Forwarded-For does not move it
