import pytest
from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from quiz.apis import JsonFirstNegotiation


def negotiate(negotiation, renderers, path="/api/quiz/round/", **headers):
    request = Request(APIRequestFactory().get(path, **headers))
    try:
        renderer, media_type = negotiation().select_renderer(request, renderers)
    except NotAcceptable:
        return "406"
    return type(renderer), media_type


@pytest.mark.parametrize(
    "accept",
    [None, "*/*", "application/json", "text/html", "application/json; indent=4", "text/html, */*;q=0.1", "", "x/y"],
)
@pytest.mark.parametrize("path", ["/api/quiz/round/", "/api/quiz/round/?format=json", "/api/quiz/round/?format=api"])
def test_it_negotiates_exactly_as_drf_does(accept, path):
    headers = {} if accept is None else {"HTTP_ACCEPT": accept}
    for renderers in ([JSONRenderer()], [JSONRenderer(), BrowsableAPIRenderer()]):
        try:
            expected = negotiate(DefaultContentNegotiation, renderers, path, **headers)
        except Exception as error:  # a format no renderer has: DRF answers 404
            expected = type(error)
        try:
            got = negotiate(JsonFirstNegotiation, renderers, path, **headers)
        except Exception as error:
            got = type(error)
        assert got == expected


@pytest.mark.django_db
def test_the_round_api_still_refuses_what_it_cannot_render(api_client):
    assert api_client.get("/api/quiz/round/", HTTP_ACCEPT="text/html").status_code == 406
    assert api_client.get("/api/quiz/round/", HTTP_ACCEPT="application/json").status_code == 200
