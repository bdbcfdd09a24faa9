"""The client's address behind trusted proxies: what rate limits and the address hash are keyed on."""

import ipaddress

import pytest
from django.test import RequestFactory

from corrosiondetector.env import ImproperlyConfiguredEnv, env_networks
from quiz.identity import client_ip, ip_hash

PROXY = "10.0.0.5"


def request_from(peer: str, forwarded_for: str | None = None):
    extra = {"HTTP_X_FORWARDED_FOR": forwarded_for} if forwarded_for is not None else {}
    return RequestFactory().get("/", REMOTE_ADDR=peer, **extra)


def test_it_uses_the_connection_address_and_ignores_headers_by_default(settings):
    assert settings.TRUSTED_PROXY_COUNT == 0
    request = request_from("203.0.113.9", "198.51.100.1")
    request.META["HTTP_X_REAL_IP"] = "198.51.100.2"
    assert client_ip(request) == "203.0.113.9"


def test_it_takes_the_address_the_trusted_proxy_saw(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_ip(request_from(PROXY, "203.0.113.9")) == "203.0.113.9"


def test_it_ignores_what_a_client_wrote_into_x_forwarded_for_itself(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    # The proxy appends the peer it saw to whatever the client sent.
    for sent in ("198.51.100.1", "198.51.100.1, 198.51.100.2", "garbage", "unknown, ::1", ""):
        chain = f"{sent}, 203.0.113.9" if sent else "203.0.113.9"
        assert client_ip(request_from(PROXY, chain)) == "203.0.113.9", sent


def test_it_ignores_other_client_ip_headers_behind_a_proxy(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    request = request_from(PROXY, "203.0.113.9")
    request.META.update(HTTP_X_REAL_IP="198.51.100.7", HTTP_CF_CONNECTING_IP="198.51.100.8", HTTP_CLIENT_IP="1.1.1.1")
    assert client_ip(request) == "203.0.113.9"


def test_it_counts_from_the_right_through_two_proxies(settings):
    settings.TRUSTED_PROXY_COUNT = 2  # a CDN, then our proxy (which appended the CDN's address)
    assert client_ip(request_from(PROXY, "198.51.100.1, 203.0.113.9, 192.0.2.44")) == "203.0.113.9"


def test_it_falls_back_to_the_peer_without_a_usable_header(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_ip(request_from(PROXY)) == PROXY
    assert client_ip(request_from(PROXY, "not-an-address")) == PROXY


def test_it_believes_the_header_only_from_trusted_networks(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    settings.TRUSTED_PROXY_NETWORKS = (ipaddress.ip_network("10.0.0.0/8"),)
    assert client_ip(request_from(PROXY, "203.0.113.9")) == "203.0.113.9"
    # Someone reaching gunicorn directly, past the proxy, cannot choose an address.
    assert client_ip(request_from("198.51.100.3", "203.0.113.9")) == "198.51.100.3"


def test_it_gives_each_client_behind_the_proxy_its_own_hash(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    first, second = ip_hash(request_from(PROXY, "203.0.113.9")), ip_hash(request_from(PROXY, "203.0.113.10"))
    assert first != second
    assert ip_hash(request_from(PROXY, "198.51.100.1, 203.0.113.9")) == first


def test_it_parses_trusted_networks_strictly(monkeypatch):
    monkeypatch.setenv("TRUSTED_PROXY_NETWORKS", "10.0.0.0/8, 172.16.0.1, fd00::/8")
    assert [str(n) for n in env_networks("TRUSTED_PROXY_NETWORKS")] == ["10.0.0.0/8", "172.16.0.1/32", "fd00::/8"]
    monkeypatch.setenv("TRUSTED_PROXY_NETWORKS", "10.0.0.0/33")
    with pytest.raises(ImproperlyConfiguredEnv, match="TRUSTED_PROXY_NETWORKS"):
        env_networks("TRUSTED_PROXY_NETWORKS")
