"""Site-wide views that belong to no app."""

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_safe

from corrosiondetector.health import health_report
from corrosiondetector.metrics import address_allowed, bearer_token_valid, site_metrics


@require_safe
def healthz(request):
    """`GET /healthz`: 200 when the database, the broker and an active model are there, 503 otherwise.

    Plain Django (no DRF throttles or authentication) and touches no session or voter key, so it
    sets no cookie and costs a load balancer's probe nothing but the checks themselves.
    """
    healthy, report = health_report()
    response = JsonResponse(report, status=200 if healthy else 503)
    add_never_cache_headers(response)
    return response


def slow_down(request: HttpRequest, wait: int, reason: str) -> HttpResponse:
    """The page a person over a rate limit sees: 429, why, and when to come back (also as Retry-After)."""
    response = render(request, "slow_down.html", {"wait": wait, "reason": reason}, status=429)
    response["Retry-After"] = str(wait)
    return response


@require_safe
def metrics(request: HttpRequest) -> HttpResponse:
    """`GET /metrics`: Prometheus metrics, for the bearer of METRICS_TOKEN only.

    Without a token configured, or from outside METRICS_ALLOWED_NETWORKS, there is no such page (404).
    """
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    token = settings.METRICS_TOKEN
    if not token or not address_allowed(request.META.get("REMOTE_ADDR", ""), settings.METRICS_ALLOWED_NETWORKS):
        raise Http404
    if not bearer_token_valid(request.headers.get("Authorization", ""), token):
        response = HttpResponse("A valid metrics token is required.\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    response = HttpResponse(generate_latest(site_metrics()), content_type=CONTENT_TYPE_LATEST)
    add_never_cache_headers(response)
    return response
