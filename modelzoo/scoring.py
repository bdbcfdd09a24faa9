"""Writes of uncertainty-first selection: the active model's P(corrosion) on images that need votes.

Torch-free, like the rest of the serving side: it runs on the inference worker through
modelzoo.inference, with the one shared preprocessing (modelzoo.ml.preprocessing) that uploads use.
The scores go into the image's own fields (model_probability, model_margin, model_version), which
quiz's selection reads: modelzoo writes them, so quiz never needs to import modelzoo.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from django.db import transaction

from modelzoo.ml import preprocessing
from modelzoo.selectors import model_version_active
from quiz.models import NEEDS_VOTES, Image

logger = logging.getLogger(__name__)

BATCH_SIZE = 64


@dataclass(frozen=True)
class ScoringProgress:
    scored: int
    last_id: int  # pass as after_id to continue
    finished: bool  # no image after last_id is left to score


def images_score_unlabelled(
    *,
    version_id: int | None = None,
    after_id: int = 0,
    max_images: int | None = None,
    batch_size: int = BATCH_SIZE,
) -> ScoringProgress:
    """Score images still needing votes, in id order from `after_id`, with the active model.

    Images this version has scored already are skipped, so a retried call redoes little, and
    `max_images` lets a worker do the pool in slices between other tasks (continue from `last_id`).
    With `version_id`, a call made for a version that is no longer active does nothing.
    """
    # onnxruntime loads only in the process that scores, not in every process importing the tasks.
    from modelzoo.inference import classifier_for

    version = model_version_active()
    if version is None or (version_id is not None and version.pk != version_id):
        return ScoringProgress(scored=0, last_id=after_id, finished=True)
    classifier = classifier_for(version)
    pending = Image.objects.filter(NEEDS_VOTES).exclude(model_version=version.version).only("id", "file").order_by("id")
    done, last_id, finished, started = 0, after_id, False, time.perf_counter()
    while max_images is None or done < max_images:
        take = batch_size if max_images is None else min(batch_size, max_images - done)
        batch = list(pending.filter(id__gt=last_id)[:take])
        if not batch:
            finished = True
            break
        last_id = batch[-1].id
        readable, photos = [], []
        for image in batch:
            try:
                with image.file.open("rb") as handle:
                    photos.append(preprocessing.load_rgb(handle.read()))
                readable.append(image)
            except OSError:
                # A missing or broken file must not stop the rest of the pool: it stays unscored
                # (and is served the random way).
                logger.warning("image %s: file %s unreadable, not scored", image.id, image.file.name)
        predictions = classifier.classify(photos) if photos else []
        _scores_store(readable, [p.probability for p in predictions], version.version)
        done += len(batch)
    logger.info("scored %s images with v%s in %.1f s", done, version.version, time.perf_counter() - started)
    return ScoringProgress(scored=done, last_id=last_id, finished=finished)


@transaction.atomic
def _scores_store(images: list[Image], probabilities: list[float], version_number: int) -> None:
    for image, probability in zip(images, probabilities):
        # Per row, not one bulk statement: a row whose label arrived meanwhile keeps no stale score
        # in the selection index, because only rows still needing votes match.
        Image.objects.filter(NEEDS_VOTES, pk=image.pk).update(
            model_probability=round(probability, 6),
            model_margin=round(abs(probability - 0.5), 6),
            model_version=version_number,
        )
