"""Many volunteers reporting one photo at once against real PostgreSQL: every report counted, none doubled."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from rest_framework.test import APIClient

from factories import make_image, unique_address
from quiz.models import Image, Report

pytestmark = pytest.mark.integration


def report_all_at_once(image: Image, clients: list[APIClient]) -> list[int]:
    barrier = threading.Barrier(len(clients))

    def report(client):
        try:
            barrier.wait()
            url = f"/api/quiz/images/{image.pk}/report/"
            return client.post(url, {"reason": "inappropriate"}, format="json").status_code
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(clients)) as pool:
        return sorted(pool.map(report, clients))


def test_it_counts_every_voters_report_once_under_concurrency(transactional_db, postgres, settings):
    settings.QUIZ_REPORTS_TO_HIDE = 8
    image = make_image(label=None)
    address = unique_address()
    codes = report_all_at_once(image, [APIClient(REMOTE_ADDR=address) for _ in range(8)])
    assert codes == [201] * 8
    image.refresh_from_db()
    assert image.report_count == Report.objects.filter(image=image).count() == 8
    assert image.hidden_by_reports and image.excluded


def test_it_takes_a_double_report_exactly_once(transactional_db, postgres):
    image = make_image(label=None)
    first = APIClient(REMOTE_ADDR=unique_address())
    first.get("/api/quiz/voter/")  # the voter cookie the twins share
    twins = []
    for _ in range(6):
        twin = APIClient(REMOTE_ADDR=unique_address())
        twin.cookies = first.cookies
        twins.append(twin)
    assert report_all_at_once(image, twins) == [201, 409, 409, 409, 409, 409]
    image.refresh_from_db()
    assert image.report_count == Report.objects.count() == 1
