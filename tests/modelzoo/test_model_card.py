"""The public model card: /model/ and GET /api/models/active/, every figure checked against data made here."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone

from factories import make_image, make_model_version
from modelzoo.models import ModelVersion
from quiz.models import Label, LabelSource, VoteTally

pytestmark = pytest.mark.django_db
API = "/api/models/active/"
PAGE = "/model/"


def power_law_accuracy(votes: int) -> float:
    """The learning curve the versions below lie on exactly: error = 0.5 · votes^-0.3."""
    return 1 - 0.5 * votes**-0.3


def votes_for(accuracy: float) -> float:
    return (0.5 / (1 - accuracy)) ** (1 / 0.3)


@pytest.fixture
def versions():
    """Three versions on one learning curve; the last is active, with recorded provenance and calibration."""
    trained = timezone.make_aware(dt.datetime(2026, 11, 1, 12, 0))
    for number, votes in ((1, 100), (2, 300)):
        make_model_version(
            version=number,
            val_accuracy=power_law_accuracy(votes),
            status=ModelVersion.Status.RETIRED,
            n_votes=votes,
            created_at=trained + dt.timedelta(days=number),
        )
    return make_model_version(
        version=3,
        val_accuracy=power_law_accuracy(1000),
        status=ModelVersion.Status.ACTIVE,
        n_votes=1000,
        created_at=trained + dt.timedelta(days=3),
        activated_at=trained + dt.timedelta(days=3, hours=1),
        architecture="resnet18",
        train_provenance={"expert": 7, "crowd": 120, "imported": 40, "model": 13},
        n_val_images=100,
        confusion=[[40, 5], [3, 52]],
        balanced_accuracy=0.9,
        precision={"no_corrosion": 0.93, "corrosion": 0.912},
        recall={"no_corrosion": 0.889, "corrosion": 0.945},
        temperature=1.7,
        ece=0.081,
        ece_calibrated=0.023,
    )


@pytest.fixture
def votes_cast():
    """1,234 votes in the tally, over two days and two shards."""
    VoteTally.objects.create(day=dt.date(2026, 11, 1), shard=0, votes=1000, yes=400)
    VoteTally.objects.create(day=dt.date(2026, 11, 2), shard=3, votes=234, yes=100)
    return 1234


def test_it_answers_anonymous_callers_with_the_active_version_and_what_it_trained_on(client, versions, votes_cast):
    body = client.get(API).json()
    assert body["version"] == 3 and body["architecture"] == "resnet18"
    assert body["trained_at"] == "2026-11-04T12:00:00Z" and body["activated_at"] == "2026-11-04T13:00:00Z"
    assert body["training_photos"] == {
        "total": 180,
        "expert": 7,
        "crowd": 120,
        "imported": 40,
        "model": 13,
        "recorded": True,
    }
    assert body["url"] == PAGE


def test_it_gives_validation_accuracy_with_the_confusion_matrix_and_calibration(client, versions):
    body = client.get(API).json()
    assert body["validation"] == {
        "images": 100,
        "accuracy": pytest.approx(power_law_accuracy(1000)),
        "balanced_accuracy": 0.9,
        "precision": {"no_corrosion": 0.93, "corrosion": 0.912},
        "recall": {"no_corrosion": 0.889, "corrosion": 0.945},
        "confusion": {"labels": ["no_corrosion", "corrosion"], "matrix": [[40, 5], [3, 52]]},
    }
    assert body["calibration"] == {"temperature": 1.7, "ece": 0.081, "ece_calibrated": 0.023}


def test_it_gives_accuracy_against_votes_for_every_version_and_the_forecast(client, versions, votes_cast):
    body = client.get(API).json()
    assert [(p["version"], p["n_votes"]) for p in body["history"]] == [(1, 100), (2, 300), (3, 1000)]
    expected = [power_law_accuracy(votes) for votes in (100, 300, 1000)]
    assert [p["val_accuracy"] for p in body["history"]] == pytest.approx(expected)
    forecast = body["forecast"]
    assert forecast["ok"] is True and forecast["votes_now"] == votes_cast
    assert [target["accuracy"] for target in forecast["targets"]] == [0.95, 0.99, 0.999]
    for target in forecast["targets"]:
        # The points lie on the curve exactly: every bootstrap refit finds it again.
        expected = round(votes_for(target["accuracy"]))
        assert target["votes"] == pytest.approx(expected, rel=1e-6)
        assert target["votes_low"] == pytest.approx(expected, rel=1e-6)
        assert target["votes_high"] == pytest.approx(expected, rel=1e-6)
    assert forecast["targets"][0]["votes"] == 2154


def test_it_states_the_known_limitations_and_that_it_is_no_inspection(client, versions):
    body = client.get(API).json()
    limitations = " ".join(body["limitations"]).lower()
    for failure in ("paint", "weathering steel", "mill scale", "wood and brick", "far from those it learned from"):
        assert failure in limitations
    assert body["disclaimer"] == "A screening aid, not a substitute for an inspection."


def test_it_answers_404_with_a_code_when_no_model_is_active(client):
    make_model_version(version=1, val_accuracy=0.9)  # a candidate is not in service
    response = client.get(API)
    assert response.status_code == 404
    assert response.json()["code"] == "no_active_model" and response.json()["detail"]


def test_it_counts_an_older_versions_training_photos_from_its_ids_and_says_so(client):
    expert = make_image(label=Label.CORROSION, expert=True)
    crowd = [make_image(label=None, votes_yes=5, vote_count=5) for _ in range(2)]
    imported = [make_image(label=Label.NO_CORROSION) for _ in range(3)]
    pseudo = make_image(label=None)
    assert {image.label_source for image in crowd} == {LabelSource.CROWD}
    ids = [expert.id, *(i.id for i in crowd), *(i.id for i in imported), pseudo.id]
    make_model_version(
        version=1,
        val_accuracy=0.8,
        status=ModelVersion.Status.ACTIVE,
        train_image_ids=sorted(ids),
        pseudo_labels={str(pseudo.id): 0},
    )
    body = client.get(API).json()
    assert body["training_photos"] == {
        "total": 7,
        "expert": 1,
        "crowd": 2,
        "imported": 3,
        "model": 1,
        "recorded": False,
    }
    html = client.get(PAGE).content.decode()
    assert "worked out from its training photos" in html


def test_it_gives_no_training_photos_for_a_version_that_recorded_none(client):
    make_model_version(version=1, val_accuracy=0.8, status=ModelVersion.Status.ACTIVE)
    assert client.get(API).json()["training_photos"] is None
    assert "10 training photos (who labelled them was not recorded" in client.get(PAGE).content.decode()


def test_it_explains_why_there_is_no_forecast_yet(client):
    make_model_version(version=1, val_accuracy=0.8, status=ModelVersion.Status.ACTIVE, n_votes=50)
    forecast = client.get(API).json()["forecast"]
    assert forecast["ok"] is False and forecast["targets"] == [] and "Too few model versions" in forecast["reason"]
    assert "No forecast yet:" in client.get(PAGE).content.decode()


def cells(html: str, css_class: str) -> list[list[str]]:
    """The rows of the table with this class, as text cells (headers included)."""
    table = re.search(rf'<table class="{css_class}">(.*?)</table>', html, re.S).group(1)
    body = re.search(r"<tbody>(.*?)</tbody>", table, re.S).group(1)
    return [
        [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)
    ]


def test_it_shows_the_same_figures_on_the_page_without_login(client, versions, votes_cast):
    response = client.get(PAGE)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Model version 3" in html and "resnet18" in html
    assert '<dd class="card-accuracy">93.7 %</dd>' in html
    assert cells(html, "provenance") == [
        ["Experts", "7"],
        ["Volunteers (crowd votes)", "120"],
        ["Imported with the photo", "40"],
        ["The model itself (self-training)", "13"],
    ]
    assert "180 training photos, by who labelled them" in html
    assert cells(html, "confusion") == [["Experts: no corrosion", "40", "5"], ["Experts: corrosion", "3", "52"]]
    assert "On 100 photos that experts labelled" in html and "right 93.7 % of the time" in html
    assert "balanced accuracy): 90.0 %" in html
    assert "T = 1.70" in html and "2.3 % (before calibration: 8.1 %)" in html
    assert cells(html, "history") == [
        ["v1", "100", "87.4 %", "Nov. 2, 2026"],
        ["v2", "300", "91.0 %", "Nov. 3, 2026"],
        ["v3", "1000", "93.7 %", "Nov. 4, 2026"],
    ]
    assert cells(html, "forecast")[0] == ["95.0 %", "2154", "2154–2154"]
    assert "1234 votes cast until now" in html
    assert "weathering steel" in html.lower() and "A screening aid, not a substitute for an inspection." in html


def test_it_says_so_on_the_page_when_no_model_is_active(client):
    html = client.get(PAGE).content.decode()
    assert "No model is in service yet" in html
    assert "A screening aid, not a substitute for an inspection." in html  # the limitations stay
