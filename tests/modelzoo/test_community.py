"""The quiz page's community strip: votes this week, labels until the next retrain, the next milestone — cached."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.cache import cache
from django.utils import timezone

from factories import make_image, make_model_version
from modelzoo.models import ModelVersion
from modelzoo.selectors import COMMUNITY_CACHE_KEY, community_figures, community_figures_count
from quiz.models import Image, Label, VoteTally

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.delete(COMMUNITY_CACHE_KEY)
    yield
    cache.delete(COMMUNITY_CACHE_KEY)


def tally(days_ago: int, votes: int) -> None:
    VoteTally.objects.create(day=timezone.now().date() - dt.timedelta(days=days_ago), shard=days_ago % 8, votes=votes)


@pytest.fixture
def week():
    """15 votes in the last seven days (today and six before), 100 just before them."""
    tally(0, 10)
    tally(6, 5)
    tally(7, 100)


def labelled_at(moment, count: int) -> None:
    for _ in range(count):
        image = make_image(label=Label.CORROSION)
        Image.objects.filter(pk=image.pk).update(labelled_at=moment)


@pytest.fixture
def active_on_the_curve(settings):
    """Three versions on error = 0.5·votes^-0.3; the active one at 1000 votes (93.7 %), data read an hour ago."""
    snapshot = timezone.now() - dt.timedelta(hours=1)
    for number, votes in ((1, 100), (2, 300), (3, 1000)):
        make_model_version(
            version=number,
            val_accuracy=1 - 0.5 * votes**-0.3,
            status=ModelVersion.Status.ACTIVE if number == 3 else ModelVersion.Status.RETIRED,
            n_votes=votes,
            data_snapshot_at=snapshot,
        )
    return snapshot


def test_it_counts_the_votes_of_the_last_seven_days(week):
    assert community_figures_count().votes_this_week == 15


def test_it_counts_new_labels_until_the_scheduled_retrain(active_on_the_curve, settings):
    settings.RETRAIN_MIN_NEW_LABELS = 5
    labelled_at(active_on_the_curve - dt.timedelta(minutes=5), 4)  # in the active model's data already
    labelled_at(timezone.now(), 2)
    figures = community_figures_count()
    assert (figures.labels_gained, figures.labels_per_retrain, figures.labels_until_retrain) == (2, 5, 3)
    labelled_at(timezone.now(), 4)
    assert community_figures_count().labels_until_retrain == 0


def test_it_aims_at_the_next_milestone_with_the_forecast(active_on_the_curve):
    tally(0, 1000)
    figures = community_figures_count()
    assert figures.accuracy == pytest.approx(0.937, abs=1e-3) and figures.next_milestone == 0.95
    # (0.5 / 0.05) ** (1 / 0.3) votes for 95 %: the versions lie on the curve exactly.
    assert figures.votes_for_milestone == 2154
    assert figures.milestone_progress == pytest.approx(1000 / 2154)


def test_it_aims_at_the_first_model_when_there_is_none(week):
    figures = community_figures_count()
    assert (figures.accuracy, figures.next_milestone, figures.votes_for_milestone) == (None, 0.95, None)
    assert figures.milestone_progress is None


def test_it_serves_the_figures_from_the_cache_until_they_expire(settings, week, django_assert_num_queries):
    settings.COMMUNITY_CACHE_SECONDS = 60
    assert community_figures().votes_this_week == 15
    tally(1, 7)
    with django_assert_num_queries(0):
        assert community_figures().votes_this_week == 15  # cached: no query, the old figure
    cache.delete(COMMUNITY_CACHE_KEY)
    assert community_figures().votes_this_week == 22


def test_it_shows_the_strip_on_the_quiz_page(client, active_on_the_curve, week, settings):
    settings.RETRAIN_MIN_NEW_LABELS = 5
    labelled_at(timezone.now(), 2)
    for _ in range(4):
        make_image(label=None)
    html = client.get("/").content.decode()
    assert "<strong>15</strong> votes this week" in html
    assert "<strong>3</strong> new labels until the model retrains" in html
    assert "Next goal: 95.0 % accuracy (now 93.7 %), forecast at about 2154 votes; we have 115." in html
    assert 'href="/model/"' in html and 'href="/me/"' in html


def test_it_adds_no_query_to_the_quiz_page_once_the_strip_is_cached(client, settings, week):
    settings.COMMUNITY_CACHE_SECONDS = 60
    for _ in range(4):
        make_image(label=None)
    client.get("/")  # fills the cache
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        client.get("/")
    assert not [q for q in queries.captured_queries if "quiz_votetally" in q["sql"] or "modelzoo_" in q["sql"]]
