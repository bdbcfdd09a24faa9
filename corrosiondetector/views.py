"""Site-wide views that belong to no app."""

from django.http import JsonResponse
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_safe

from corrosiondetector.health import health_report


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
