"""Real Chromium against a live server: the model card, a volunteer's own page, and expert feedback in the quiz.

Screenshots land beside test_browser.py's, in $E2E_ARTIFACTS_DIR (default artifacts/e2e/).
"""

import datetime as dt
import os
from pathlib import Path
from urllib.parse import urlparse

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from factories import VoteFactory, VoterFactory, make_image, make_model_version
from modelzoo.models import ModelVersion
from quiz.identity import voter_cookie_value
from quiz.models import Label, Split, Vote

pytestmark = pytest.mark.integration
ARTIFACTS = Path(os.environ.get("E2E_ARTIFACTS_DIR") or Path(__file__).resolve().parents[2] / "artifacts" / "e2e")


@pytest.fixture
def context(browser, request):  # `browser`: tests/e2e/conftest.py
    context = browser.new_context(viewport={"width": 390, "height": 900})
    yield context
    for index, page in enumerate(context.pages):
        page.screenshot(path=str(ARTIFACTS / f"{request.node.name}-end-{index}.png"), full_page=True)
    context.close()


def as_voter(context, live_server, key) -> None:
    context.add_cookies(
        [
            {
                "name": django_settings.VOTER_COOKIE_NAME,
                "value": voter_cookie_value(key),
                "domain": urlparse(live_server.url).hostname,
                "path": "/",
            }
        ]
    )


def test_it_shows_the_model_card_to_anyone(context, live_server, transactional_db):
    for number, votes in ((1, 100), (2, 300)):
        make_model_version(
            version=number, val_accuracy=1 - 0.5 * votes**-0.3, status=ModelVersion.Status.RETIRED, n_votes=votes
        )
    make_model_version(
        version=3,
        val_accuracy=1 - 0.5 * 1000**-0.3,
        status=ModelVersion.Status.ACTIVE,
        n_votes=1000,
        train_provenance={"expert": 7, "crowd": 120, "imported": 40, "model": 13},
        confusion=[[40, 5], [3, 52]],
        n_val_images=100,
        ece=0.081,
        ece_calibrated=0.023,
        temperature=1.7,
    )
    page = context.new_page()
    page.goto(live_server.url + "/")
    page.get_by_role("link", name="The model").first.click()
    assert page.get_by_role("heading", level=1).inner_text() == "How good is the model?"
    assert page.get_by_role("heading", name="Model version 3").is_visible()
    assert page.locator(".card-accuracy").inner_text() == "93.7 %"
    crowd = page.get_by_role("row", name="Volunteers (crowd votes) 120")
    assert crowd.is_visible()
    assert page.locator("table.confusion tbody tr").nth(1).inner_text().split() == ["Experts:", "corrosion", "3", "52"]
    assert page.locator("table.history tbody tr").count() == 3
    assert page.locator("table.forecast tbody tr").first.inner_text().split("\t")[:2] == ["95.0 %", "2154"]
    assert page.get_by_text("Weathering steel is meant to carry a rust-coloured patina").is_visible()
    assert page.get_by_text("A screening aid, not a substitute for an inspection.").first.is_visible()
    page.screenshot(path=str(ARTIFACTS / "model-card.png"), full_page=True)


def test_it_shows_a_volunteer_their_part_and_expert_feedback_after_a_gold_round(
    context, live_server, transactional_db, settings
):
    settings.QUIZ_GOLD_RATE = 1.0
    voter = VoterFactory()
    earlier = make_image(label=Label.CORROSION)
    VoteFactory(voter=voter, image=earlier, corrosion=True, created_at=timezone.now() - dt.timedelta(days=2))
    make_model_version(
        version=1,
        val_accuracy=0.8,
        status=ModelVersion.Status.ACTIVE,
        train_image_ids=[earlier.id],
        data_snapshot_at=timezone.now() - dt.timedelta(days=1),
    )
    for _ in range(6):
        make_image(label=None)
    gold = make_image(
        split=Split.VALIDATION, label=Label.CORROSION, expert_note="Rust staining under the flaking paint."
    )
    as_voter(context, live_server, voter.key)
    page = context.new_page()
    page.goto(live_server.url + "/")
    assert page.locator(f"input[name=corrosion][value='{gold.id}']").count() == 1
    page.get_by_role("button", name="Submit").click()  # nothing ticked: the gold photo answered "no corrosion"
    page.wait_for_selector(".feedback")
    feedback = page.locator(".feedback").inner_text()
    assert "Experts: it shows corrosion." in feedback and "You said: no corrosion." in feedback
    assert "Why: Rust staining under the flaking paint." in feedback
    page.screenshot(path=str(ARTIFACTS / "quiz-expert-feedback.png"), full_page=True)
    assert Vote.objects.filter(voter=voter).count() == 5

    page.get_by_role("link", name="Your part").first.click()
    assert page.get_by_role("heading", level=1).inner_text() == "Your part"
    assert page.locator(".me-votes").inner_text() == "5"
    assert page.locator(".me-gold").inner_text() == "0 of 1 photos the experts labelled (0 %)"
    versions = page.locator("table.me-versions tbody tr")
    assert versions.count() == 1 and versions.first.inner_text().split("\t")[:2] == ["v1", "1"]
    page.screenshot(path=str(ARTIFACTS / "me.png"), full_page=True)


class UpperLeftClassifier:
    """The active model's stand-in in the live server's process: "corrosion", its CAM hot in the top-left corner."""

    input_size = 32

    def classify(self, images):
        import numpy as np

        from modelzoo.ml.serving import Prediction

        cam = np.zeros((8, 8), dtype=np.float32)
        cam[0:2, 0:2] = 1.0
        return [Prediction(label="corrosion", probability=0.83, cam=cam) for _ in images]


def test_it_links_a_verdict_to_the_model_card_and_describes_its_heatmap(
    context, live_server, transactional_db, active_model, tmp_path, monkeypatch
):
    import modelzoo.inference
    from factories import jpeg_bytes

    monkeypatch.setattr(modelzoo.inference, "classifier_for", lambda version: UpperLeftClassifier())
    photo = tmp_path / "rusty.jpg"
    photo.write_bytes(jpeg_bytes(size=(400, 300)))
    page = context.new_page()
    page.goto(live_server.url + "/upload/")
    page.set_input_files("#image-input", str(photo))
    page.get_by_role("button", name="Check for corrosion").click()  # upload.js renders the verdict
    page.wait_for_selector(".verdict", timeout=30_000)
    quality = page.locator(".model-quality")
    assert "This model was right on 50.0 % of the photos experts checked." in quality.inner_text()
    link = page.get_by_role("link", name="About the model and what it cannot do")
    assert link.get_attribute("href") == live_server.url + "/model/"
    description = "Corrosion most likely in the upper left of the photo."
    assert page.locator(".heatmap img").get_attribute("alt").startswith(description)
    assert page.locator(".heatmap-description").inner_text() == description
    page.screenshot(path=str(ARTIFACTS / "upload-verdict-explained.png"), full_page=True)
    link.click()
    assert page.get_by_role("heading", level=1).inner_text() == "How good is the model?"
