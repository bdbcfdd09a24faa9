import uuid

import pytest
from django.contrib.auth.models import User
from django.test import RequestFactory
from rest_framework.authtoken.models import Token
from rest_framework.request import Request

from quiz.identity import voter_cookie_value
from uploads.identity import TOKEN_USER_NAMESPACE, caller_key, token_voter_key

pytestmark = pytest.mark.django_db


def drf_request(**headers) -> Request:
    from rest_framework.authentication import TokenAuthentication

    return Request(RequestFactory().get("/", **headers), authenticators=[TokenAuthentication()])


def test_it_derives_a_stable_key_per_user_apart_from_other_users():
    alice, bob = User.objects.create_user("alice"), User.objects.create_user("bob")
    assert token_voter_key(alice) == uuid.uuid5(TOKEN_USER_NAMESPACE, f"user:{alice.pk}")
    assert token_voter_key(alice) == token_voter_key(User.objects.get(pk=alice.pk))
    assert token_voter_key(alice) != token_voter_key(bob)


def test_it_takes_the_token_users_key_for_a_token_caller():
    alice = User.objects.create_user("alice")
    key = Token.objects.create(user=alice).key
    assert caller_key(drf_request(HTTP_AUTHORIZATION=f"Token {key}")) == token_voter_key(alice)


def test_it_takes_the_voter_cookie_key_otherwise(settings):
    cookie_key = uuid.uuid4()
    request = drf_request()
    request._request.COOKIES[settings.VOTER_COOKIE_NAME] = voter_cookie_value(cookie_key)
    assert caller_key(request) == cookie_key


def test_it_never_takes_a_signed_in_session_user_for_a_token_caller(settings):
    # A person signed in to the admin still uploads from the browser with their voter cookie.
    cookie_key = uuid.uuid4()
    plain = RequestFactory().get("/")
    plain.user = User.objects.create_user("alice")
    plain.COOKIES[settings.VOTER_COOKIE_NAME] = voter_cookie_value(cookie_key)
    assert caller_key(plain) == cookie_key
