"""An unshared upload never leaves its uploader: not in a quiz round, training, an export or the dashboard.

On PostgreSQL, with a small pool, so that a leak would show up in the first few rounds.
"""

import random
import uuid

import pytest
from rest_framework.test import APIClient

from dashboard.selectors import label_balance
from datasets.selectors import dataset_export_select
from factories import jpeg_bytes, make_image
from modelzoo.selectors import training_data, training_images_unlabelled
from quiz.models import Image, Label, Moderation, Split
from quiz.selectors import round_images_select
from uploads.services import upload_correct, upload_create, upload_share

ROUNDS = 2_000


@pytest.fixture
def pool(postgres, settings):
    """Six photos the quiz may show, and the uploads it must not: unshared (labelled, too), shared but
    waiting for staff."""
    settings.QUIZ_MIN_VOTES = 1
    settings.UPLOAD_MODERATION = "pre"
    public = [make_image(label=None) for _ in range(3)] + [make_image(label=Label.CORROSION) for _ in range(3)]
    make_image(split=Split.VALIDATION)
    private = upload_create(data=jpeg_bytes(), uploader_key=uuid.uuid4())
    upload_correct(upload_id=private.pk, voter_key=private.uploader_key, corrosion=True)  # now labelled
    unlabelled_private = upload_create(data=jpeg_bytes(), uploader_key=uuid.uuid4())
    pending = upload_create(data=jpeg_bytes(), uploader_key=uuid.uuid4(), shared=True)
    hidden = {private.image_id, unlabelled_private.image_id, pending.image_id}
    assert Image.objects.get(pk=private.image_id).effective_label == Label.CORROSION
    return {"public": {image.pk for image in public}, "hidden": hidden, "private": private}


def test_it_never_serves_an_unshared_upload_in_thousands_of_rounds(pool):
    rng = random.Random(15)
    served: set[int] = set()
    for _ in range(ROUNDS):
        served.update(image.pk for image in round_images_select(voter_key=uuid.uuid4(), rng=rng))
    assert served == pool["public"]  # the whole public pool was reached, and nothing else
    for _ in range(100):
        body = APIClient().get("/api/quiz/round/").json()
        assert not {image["id"] for image in body["images"]} & pool["hidden"]


def test_it_keeps_unshared_uploads_out_of_training_exports_and_the_dashboard(pool):
    data = training_data()
    assert set(data.train_image_ids).isdisjoint(pool["hidden"]) and data.train_image_ids
    assert {image_id for image_id, _ in training_images_unlabelled()}.isdisjoint(pool["hidden"])
    selection = dataset_export_select(split="all")
    assert set(selection.image_ids).isdisjoint(pool["hidden"]) and selection.image_ids
    assert sum(row["n"] for row in label_balance()) == 3 + 1  # three labelled train photos, one validation


def test_it_lets_a_shared_and_approved_upload_in(pool):
    """The other side of the gate: the same checks see a photo once it may be seen."""
    private = pool["private"]
    upload_share(upload_id=private.pk, voter_key=private.uploader_key, shared=True)
    image = Image.objects.get(pk=private.image_id)
    image.moderation = Moderation.APPROVED
    image.refresh_excluded()
    assert not image.excluded
    image.save()
    assert private.image_id in training_data().train_image_ids
    assert private.image_id in dataset_export_select(split="all").image_ids
