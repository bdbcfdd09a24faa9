import uuid

from django.test import RequestFactory

from quiz.identity import ip_hash, voter_cookie_value, voter_key


def request_with_cookie(value: str | None, address: str = "203.0.113.9"):
    request = RequestFactory().get("/api/quiz/round/", REMOTE_ADDR=address)
    if value is not None:
        request.COOKIES["cd_voter"] = value
    return request


def test_it_reads_the_key_of_a_signed_cookie_again_and_again():
    key = uuid.uuid4()
    cookie = voter_cookie_value(key)
    for _ in range(3):  # the second and third come from the cache
        request = request_with_cookie(cookie)
        assert voter_key(request) == key and not getattr(request, "_voter_key_is_new", False)


def test_it_issues_a_new_key_for_a_tampered_or_missing_cookie():
    key = uuid.uuid4()
    signed_other = voter_cookie_value(uuid.uuid4())
    tampered = str(key) + signed_other[len(str(key)) :]  # our key under another key's signature
    for value in (None, "", tampered, "not-signed", voter_cookie_value(key)[:-1]):
        request = request_with_cookie(value)
        assert voter_key(request) != key and request._voter_key_is_new


def test_it_stops_trusting_a_cookie_once_the_secret_changes(settings):
    key = uuid.uuid4()
    cookie = voter_cookie_value(key)
    assert voter_key(request_with_cookie(cookie)) == key
    settings.SECRET_KEY = "another-secret-" + "x" * 40
    request = request_with_cookie(cookie)
    assert voter_key(request) != key and request._voter_key_is_new


def test_it_hashes_the_address_with_the_secret(settings):
    first = ip_hash(request_with_cookie(None))
    assert first == ip_hash(request_with_cookie(None)) and "203.0.113.9" not in first
    assert ip_hash(request_with_cookie(None, "203.0.113.10")) != first
    settings.SECRET_KEY = "another-secret-" + "x" * 40
    assert ip_hash(request_with_cookie(None)) != first
