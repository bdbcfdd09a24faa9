import datetime
import re

import pytest
from django.utils import timezone

from factories import VoterFactory, make_image, make_model_version
from quiz.models import Vote
from uploads.models import Upload

pytestmark = pytest.mark.django_db
URL = "/dashboard/"


def test_it_sends_anonymous_visitors_to_login(client):
    response = client.get(URL)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_it_refuses_volunteers_with_accounts(client, volunteer):
    client.force_login(volunteer)
    assert client.get(URL).status_code == 403


def test_it_opens_for_staff_and_researchers(client, staff, researcher):
    client.force_login(staff)
    assert client.get(URL).status_code == 200
    client.force_login(researcher)
    assert client.get(URL).status_code == 200


def test_it_counts_uploads_and_votes_per_day_cumulatively(client, staff, monkeypatch):
    from quiz.services.votes import vote_set, voter_set_expertise

    client.force_login(staff)
    now = timezone.now()
    for when in (now - datetime.timedelta(days=1), now, now):
        monkeypatch.setattr("quiz.services.votes.timezone.now", lambda when=when: when)
        image = make_image(label=None)
        upload = Upload.objects.create(image=image, uploader_key=VoterFactory().key)
        Upload.objects.filter(pk=upload.pk).update(created_at=when)
        voter = VoterFactory()
        voter_set_expertise(voter_key=voter.key, expertise="some")
        vote_set(voter_key=voter.key, image_id=image.pk, corrosion=True)  # the real path keeps the tally
    monkeypatch.undo()
    response = client.get(URL)
    assert [(n, total) for _, n, total in response.context["uploads"]] == [(1, 1), (2, 3)]
    assert [(n, total) for _, n, total in response.context["votes"]] == [(1, 1), (2, 3)]
    assert [(row["name"], row["n"], row["yes"]) for row in response.context["expertise"]] == [("some", 3, 3)]
    html = response.content.decode()
    assert "<svg" in html and "3 uploads</title>" in html and "cdn" not in html.lower()
    # Both axes carry values: the two days as dates, the totals as counts, and the units.
    yesterday, today = (now - datetime.timedelta(days=1)).date(), now.date()
    x_ticks = re.findall(r'class="tick x-tick">([^<]*)<', html)
    y_ticks = re.findall(r'class="tick y-tick">([^<]*)<', html)
    assert x_ticks.count(yesterday.isoformat()) >= 2 and x_ticks.count(today.isoformat()) >= 2
    assert y_ticks[:4] == ["0", "1", "2", "3"]
    assert "uploads (cumulative count)</text>" in html and "day (UTC)</text>" in html


def test_it_shows_the_forecast_or_says_why_not(client, staff):
    client.force_login(staff)
    make_model_version(version=1, val_accuracy=0.66, n_votes=100)
    assert "Too few model versions" in client.get(URL).content.decode()
    make_model_version(version=2, val_accuracy=0.80, n_votes=800)
    make_model_version(version=3, val_accuracy=0.90, n_votes=2539)
    response = client.get(URL)
    assert response.context["forecast"].ok
    assert [row[0] for row in response.context["forecast_rows"]] == ["95.0%", "99.0%", "99.9%"]


def test_it_bins_agreement_and_balances_labels(client, staff, settings):
    settings.QUIZ_MIN_VOTES = 5
    client.force_login(staff)
    make_image(label=None, votes_yes=5, vote_count=5)  # 100%
    make_image(label=None, votes_yes=3, votes_no=2, vote_count=5)  # 60%
    response = client.get(URL)
    assert dict(response.context["agreement"]) == {"50–60%": 0, "60–70%": 1, "70–80%": 0, "80–90%": 0, "90–100%": 1}
    assert {(r["label_source"], r["effective_label"], r["n"]) for r in response.context["balance"]} == {
        ("crowd", "corrosion", 2)
    }


def test_it_needs_a_fixed_number_of_queries_whatever_the_data(client, staff, django_assert_max_num_queries):
    client.force_login(staff)
    for _ in range(5):
        Vote.objects.create(voter=VoterFactory(), image=make_image(label=None), corrosion=False)
    with django_assert_max_num_queries(12):
        assert client.get(URL).status_code == 200
