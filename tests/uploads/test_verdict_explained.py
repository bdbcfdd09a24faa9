"""Every verdict links to the model card, states the model's accuracy, and says where the heatmap points."""

from __future__ import annotations

import uuid

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

import modelzoo.inference
from factories import jpeg_bytes
from modelzoo.ml.serving import Prediction
from uploads.models import Upload
from uploads.services import upload_classify, upload_create

pytestmark = pytest.mark.django_db


class FixedClassifier:
    """The active model's stand-in: one verdict, and a CAM hot in its top-left corner."""

    input_size = 32

    def __init__(self, label: str):
        self.label = label

    def classify(self, images):
        cam = np.zeros((8, 8), dtype=np.float32)
        cam[0:2, 0:2] = 1.0
        probability = 0.83 if self.label == "corrosion" else 0.12
        return [Prediction(label=self.label, probability=probability, cam=cam) for _ in images]


def classified(monkeypatch, label: str, *, shared: bool = True) -> Upload:
    monkeypatch.setattr(modelzoo.inference, "classifier_for", lambda version: FixedClassifier(label))
    upload = upload_create(data=jpeg_bytes(size=(200, 150)), uploader_key=uuid.uuid4(), shared=shared)
    return upload_classify(upload_id=upload.pk)


def test_it_describes_where_the_heatmap_points_once_when_classifying(active_model, monkeypatch):
    done = classified(monkeypatch, "corrosion")
    assert (done.status, done.heatmap_region) == (Upload.Status.DONE, "upper_left")


def test_it_claims_no_region_for_a_no_corrosion_verdict(active_model, monkeypatch):
    assert classified(monkeypatch, "no_corrosion").heatmap_region == ""


def test_it_gives_the_models_accuracy_its_card_and_the_heatmap_in_words_in_the_api(
    api_client, active_model, monkeypatch
):
    active_model.val_accuracy = 0.912
    active_model.save(update_fields=["val_accuracy"])
    done = classified(monkeypatch, "corrosion")
    body = api_client.get(f"/api/uploads/{done.pk}/").json()
    assert body["probability"] == pytest.approx(0.83)
    assert body["model_accuracy"] == pytest.approx(0.912)
    assert body["model_card_url"] == "http://testserver/model/"
    assert body["heatmap_region"] == "upper_left"
    assert body["heatmap_description"] == "Corrosion most likely in the upper left of the photo."


def test_it_says_nothing_of_a_heatmap_region_for_no_corrosion_in_the_api(api_client, active_model, monkeypatch):
    body = api_client.get(f"/api/uploads/{classified(monkeypatch, 'no_corrosion').pk}/").json()
    assert (body["heatmap_region"], body["heatmap_description"]) == ("", "")
    assert body["model_accuracy"] == pytest.approx(active_model.val_accuracy)


def test_it_has_no_model_figures_before_a_verdict(api_client):
    upload = upload_create(data=jpeg_bytes(), uploader_key=uuid.uuid4(), shared=True)
    body = api_client.get(f"/api/uploads/{upload.pk}/").json()
    assert (body["status"], body["model_accuracy"], body["model_card_url"]) == ("no_model", None, None)


def test_it_links_the_result_page_to_the_model_card_and_uses_the_description_as_alt_text(
    client, active_model, monkeypatch
):
    active_model.val_accuracy = 0.912
    active_model.save(update_fields=["val_accuracy"])
    done = classified(monkeypatch, "corrosion")
    html = client.get(f"/upload/{done.pk}/").content.decode()
    assert "probability of corrosion 0.83" in html
    assert "This model was right on 91.2 % of the photos experts checked." in html
    assert '<a href="/model/">About the model and what it cannot do</a>' in html
    assert 'alt="Corrosion most likely in the upper left of the photo. Your photo with a heatmap' in html
    assert '<strong class="heatmap-description">Corrosion most likely in the upper left of the photo.</strong>' in html


def test_it_gives_the_scripts_words_to_the_upload_page(client):
    html = client.get("/upload/").content.decode()
    assert '<script id="upload-strings" type="application/json">' in html
    assert "About the model and what it cannot do" in html


def test_it_states_the_models_accuracy_beside_each_verdict_on_my_uploads(
    client, active_model, monkeypatch, django_capture_on_commit_callbacks
):
    active_model.val_accuracy = 0.912
    active_model.save(update_fields=["val_accuracy"])
    monkeypatch.setattr(modelzoo.inference, "classifier_for", lambda version: FixedClassifier("corrosion"))
    with django_capture_on_commit_callbacks(execute=True):  # classified in-process
        client.post("/upload/", {"image": SimpleUploadedFile("p.jpg", jpeg_bytes())})  # this browser's upload
    html = client.get("/uploads/mine/").content.decode()
    assert "(0.83; " in html and "model v1, right on 91.2 % of the photos experts checked" in html
    assert '<a href="/model/">about the model</a>' in html
