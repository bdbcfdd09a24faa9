"""Who is voting: a random key in a signed, HttpOnly cookie, and a keyed hash of the address."""

from __future__ import annotations

import hashlib
import hmac
import uuid

from django.conf import settings
from django.core import signing
from django.http import HttpRequest, HttpResponse

_COOKIE_SALT = "quiz.voter-cookie"


def voter_key(request: HttpRequest) -> uuid.UUID:
    """The caller's voter key; a new one is issued (and set as a cookie) on first use."""
    request = getattr(request, "_request", request)  # DRF wraps the HttpRequest the middleware sees
    key = getattr(request, "_voter_key", None)
    if key is not None:
        return key
    raw = request.get_signed_cookie(settings.VOTER_COOKIE_NAME, default=None, salt=_COOKIE_SALT)
    try:
        key = uuid.UUID(raw) if raw else None
    except ValueError:
        key = None
    if key is None:
        key = uuid.uuid4()
        request._voter_key_is_new = True
    request._voter_key = key
    return key


def set_voter_cookie_if_new(request: HttpRequest, response: HttpResponse) -> None:
    if not getattr(request, "_voter_key_is_new", False):
        return
    response.set_cookie(
        settings.VOTER_COOKIE_NAME,
        voter_cookie_value(request._voter_key),
        max_age=settings.VOTER_COOKIE_MAX_AGE,
        httponly=True,
        secure=settings.SECURE_COOKIES,
        samesite="Lax",
    )


def voter_cookie_value(key: uuid.UUID) -> str:
    """The signed cookie value for a voter key (what `get_signed_cookie` verifies)."""
    return signing.get_cookie_signer(salt=settings.VOTER_COOKIE_NAME + _COOKIE_SALT).sign(str(key))


def client_ip(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "") or ""


def ip_hash(request: HttpRequest) -> str:
    """HMAC of the client address: lets us spot abuse from one address without storing it."""
    key = hashlib.sha256(("ip-hash:" + settings.SECRET_KEY).encode()).digest()
    return hmac.new(key, client_ip(request).encode(), hashlib.sha256).hexdigest()
