"""Who is voting: a random key in a signed, HttpOnly cookie, and a keyed hash of the address."""

from __future__ import annotations

import functools
import hashlib
import hmac
import ipaddress
import uuid

from django.conf import settings
from django.core import signing
from django.http import HttpRequest, HttpResponse
from ipware import get_client_ip

_COOKIE_SALT = "quiz.voter-cookie"


def voter_key(request: HttpRequest) -> uuid.UUID:
    """The caller's voter key; a new one is issued (and set as a cookie) on first use."""
    request = getattr(request, "_request", request)  # DRF wraps the HttpRequest the middleware sees
    key = getattr(request, "_voter_key", None)
    if key is not None:
        return key
    key = _voter_key_from_cookie(request.COOKIES.get(settings.VOTER_COOKIE_NAME), settings.SECRET_KEY)
    if key is None:
        key = uuid.uuid4()
        request._voter_key_is_new = True
    request._voter_key = key
    return key


@functools.lru_cache(maxsize=4096)
def _voter_key_from_cookie(value: str | None, secret_key: str) -> uuid.UUID | None:
    """The key in a voter cookie whose signature holds, else None (what `get_signed_cookie` checks).

    Cached: the same voters come back round after round, and checking the signature (two keyed
    hashes) was a noticeable part of serving a round. The secret is part of the cache key, so a
    rotated secret is never answered from the cache.
    """
    if not value:
        return None
    try:
        return uuid.UUID(signing.get_cookie_signer(salt=settings.VOTER_COOKIE_NAME + _COOKIE_SALT).unsign(value))
    except (signing.BadSignature, ValueError):
        return None


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
    """The client's address: the connection's, or the one the trusted proxies saw (TRUSTED_PROXY_COUNT)."""
    peer = request.META.get("REMOTE_ADDR", "") or ""
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies == 0 or not _is_trusted_proxy(peer, settings.TRUSTED_PROXY_NETWORKS):
        return peer
    # Only X-Forwarded-For, which our proxy appends to; the other headers ipware knows (X-Real-IP,
    # CF-Connecting-IP, ...) would pass through from the client untouched. Not strict: a client's own
    # (possibly garbage) entries on the left are expected and ignored, the pick counts from the right,
    # where the last proxy is REMOTE_ADDR itself and each one before it appended its peer.
    address, _routable = get_client_ip(
        request, proxy_count=proxies - 1, request_header_order=("HTTP_X_FORWARDED_FOR",), strict=False
    )
    # No usable header (a health check from inside the network): the peer it is.
    return address or peer


def _is_trusted_proxy(peer: str, networks: tuple) -> bool:
    if not networks:
        return True
    try:
        address = ipaddress.ip_address(peer)
    except ValueError:
        return False
    return any(address in network for network in networks)


def ip_hash(request: HttpRequest) -> str:
    """HMAC of the client address: lets us spot abuse from one address without storing it."""
    request = getattr(request, "_request", request)
    cached = getattr(request, "_ip_hash", None)
    if cached is None:
        cached = request._ip_hash = hmac.new(
            _ip_hash_key(settings.SECRET_KEY), client_ip(request).encode(), hashlib.sha256
        ).hexdigest()
    return cached


@functools.lru_cache(maxsize=4)
def _ip_hash_key(secret_key: str) -> bytes:
    return hashlib.sha256(("ip-hash:" + secret_key).encode()).digest()
