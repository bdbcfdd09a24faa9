"""Writes of the model zoo: training runs, versions, promotion and rollback.

Torch is imported inside the training functions only, so web processes and the
inference worker can import this module without loading it.
"""

from __future__ import annotations

import logging
import os
import socket
import tempfile
import threading
import traceback
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, connection, transaction
from django.db.models import Max, Q
from django.utils import timezone

from corrosiondetector.media import private_storage
from modelzoo.errors import NoActiveModel, NothingToRollBackTo, NoTrainingData, TrainingAlreadyRunning
from modelzoo.models import ModelVersion, TrainingRun
from modelzoo.selectors import (
    labels_gained_since,
    model_version_active,
    training_data,
    training_images_unlabelled,
    training_run_open,
)
from quiz.imaging import sha256_of
from quiz.services.relabel import crowd_labels_reaggregate

logger = logging.getLogger(__name__)

ARCHITECTURE = "unet-encoder-5"


def training_run_request(
    *, triggered_by: str, user=None, config: dict[str, Any] | None = None, promote: bool = True, enqueue: bool = True
) -> TrainingRun:
    """Queue a training run; refused while another is queued or running (a database constraint).

    A running run whose worker died (no heartbeat) is marked failed first, so it does not block this one.
    """
    _fail_stale_runs()
    try:
        with transaction.atomic():
            run = TrainingRun.objects.create(
                triggered_by=triggered_by[:64], requested_by=user, config=config or {}, promote=promote
            )
            if enqueue:
                transaction.on_commit(lambda: _training_run_enqueue(run.id))
    except IntegrityError:
        open_run = training_run_open()
        raise TrainingAlreadyRunning(
            f"Training run {open_run.pk if open_run else '?'} is already {open_run.state if open_run else 'open'}."
        ) from None
    if enqueue:
        run.refresh_from_db()  # failed already if the broker refused it
    return run


def _training_run_enqueue(run_id: int) -> None:
    from kombu.exceptions import OperationalError

    from modelzoo.tasks import training_run_execute_task

    try:
        training_run_execute_task.delay(run_id)
    except OperationalError as error:
        # A queued run that no worker will ever see would block every later trigger: fail it now.
        logger.error("training run %s not queued, broker unavailable: %s", run_id, error)
        _training_run_fail(run_id, f"Could not queue the run (broker unavailable): {error}")


def training_run_execute(*, run_id: int, progress: bool = False) -> ModelVersion | None:
    """Run a queued training run to the end. Idempotent: a run already done or failed is left alone."""
    with transaction.atomic():
        run = TrainingRun.objects.select_for_update().get(pk=run_id)
        if run.state == TrainingRun.State.RUNNING:
            # Only one training worker takes this queue: seeing our own run "running" means
            # the message came back after the worker died mid-run.
            _training_run_fail(run.pk, "The training worker stopped mid-run; the run was not resumed.")
            return None
        if run.state != TrainingRun.State.QUEUED:
            return None
        run.state = TrainingRun.State.RUNNING
        run.started_at = run.heartbeat_at = timezone.now()
        run.worker = f"{socket.gethostname()}:{os.getpid()}"[:255]
        run.save(update_fields=["state", "started_at", "heartbeat_at", "worker", "updated_at"])
    try:
        with _heartbeat(run.pk):
            return _train_and_register(run, progress=progress)
    except Exception as exc:
        logger.exception("training run %s failed", run.pk)
        reason = f"{exc.__class__.__name__}: {exc}"
        _training_run_fail(run.pk, reason + "\n\n" + traceback.format_exc(limit=5))
        return None


@contextmanager
def _heartbeat(run_id: int) -> Iterator[None]:
    """Refresh the run's heartbeat from a side thread while the body trains.

    An epoch can take minutes, so progress reports alone cannot tell a slow run from a dead one;
    a killed worker stops beating within one interval whatever the epoch length.
    """
    stop = threading.Event()

    def beat() -> None:
        try:
            while not stop.wait(settings.TRAINING_HEARTBEAT_SECONDS):
                try:
                    TrainingRun.objects.filter(pk=run_id, state=TrainingRun.State.RUNNING).update(
                        heartbeat_at=timezone.now()
                    )
                except Exception:
                    # A database blip must not stop the beats (nor the training); the next beat retries.
                    logger.warning("training run %s: heartbeat not recorded", run_id, exc_info=True)
                    connection.close()
        finally:
            connection.close()  # this thread's own connection

    thread = threading.Thread(target=beat, name=f"training-heartbeat-{run_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)


def _training_run_fail(run_id: int, reason: str) -> None:
    TrainingRun.objects.filter(pk=run_id).update(
        state=TrainingRun.State.FAILED, error=reason[:10_000], finished_at=timezone.now(), updated_at=timezone.now()
    )


def _train_and_register(run: TrainingRun, *, progress: bool) -> ModelVersion:
    from modelzoo.ml.export import check_onnx_parity, export_onnx
    from modelzoo.ml.trainer import model_from_result, save_checkpoint

    if settings.QUIZ_AGGREGATION == "weighted":
        crowd_labels_reaggregate()  # train on labels from every vote so far, not only the live estimates
    snapshot_at = timezone.now()
    data = training_data()
    if not data.train or not data.validation:
        raise NoTrainingData(
            f"Training needs labelled training images and expert-labelled validation images "
            f"(have {len(data.train)} and {len(data.validation)})."
        )
    config = _training_config({**settings.TRAINING_CONFIG, **run.config}, progress=progress)
    TrainingRun.objects.filter(pk=run.pk).update(epochs_total=config.epochs, config=_jsonable(config))
    history: list[dict] = []

    def on_epoch(metrics: dict) -> None:
        history.append(metrics)
        TrainingRun.objects.filter(pk=run.pk).update(epoch=len(history), history=history, updated_at=timezone.now())

    result, pseudo_labels = _fit(data, config, on_epoch)
    model = model_from_result(result)
    with tempfile.TemporaryDirectory() as tmp:
        onnx_path = Path(tmp) / "model.onnx"
        checkpoint_path = Path(tmp) / "model.pt"
        export_onnx(model, onnx_path, input_size=config.input_size, temperature=result.temperature)
        _check_export(model, onnx_path, config.input_size, result.temperature, check_onnx_parity)
        save_checkpoint(checkpoint_path, model, config=config, epoch=result.best_epoch, temperature=result.temperature)
        version = model_version_register(
            run=run,
            result=result.summary(),
            onnx=onnx_path.read_bytes(),
            checkpoint=checkpoint_path.read_bytes(),
            n_votes=data.n_votes,
            snapshot_at=snapshot_at,
            pseudo_labels=pseudo_labels,
            train_image_ids=data.train_image_ids,
            train_provenance={**data.provenance, "model": len(pseudo_labels)},
        )
    if run.promote:
        model_version_promote(version_id=version.pk)
        version.refresh_from_db()
    return version


def _fit(data, config, on_epoch):
    """The trained result and {image id: label} of the photos the model labelled itself (self-training)."""
    from modelzoo.ml.self_training import self_train
    from modelzoo.ml.trainer import train

    confidence = settings.TRAIN_PSEUDO_LABEL_CONFIDENCE
    unlabelled = training_images_unlabelled() if confidence else []
    if not unlabelled:
        return train(data.train, data.validation, config, on_epoch=on_epoch), {}
    fitted = self_train(
        data.train,
        data.validation,
        [(source, 0) for _, source in unlabelled],
        confidence=confidence,
        config=config,
        on_epoch=on_epoch,
    )
    fitted.student.config["self_training"] = {
        "confidence": confidence,
        "teacher_val_accuracy": fitted.teacher_val_accuracy,
    }
    return fitted.student, {unlabelled[index][0]: label for index, label in fitted.pseudo_labels.items()}


def _training_config(overrides: dict, *, progress: bool):
    from modelzoo.ml.trainer import TrainConfig

    unknown = set(overrides) - set(TrainConfig.__dataclass_fields__)
    if unknown:
        raise ValueError(f"unknown training configuration keys: {', '.join(sorted(unknown))}")
    return TrainConfig.from_dict({"device": settings.TRAINING_DEVICE, **overrides, "progress": progress})


def _check_export(model, onnx_path: Path, input_size: int, temperature: float, check_onnx_parity) -> None:
    import numpy as np

    sample = np.random.default_rng(0).standard_normal((2, 3, input_size, input_size)).astype("float32")
    difference = check_onnx_parity(model, onnx_path, sample, temperature=temperature)
    if difference > 1e-3:
        raise RuntimeError(f"ONNX export differs from PyTorch by {difference:.2e}")


def _jsonable(config) -> dict:
    from dataclasses import asdict

    return asdict(config)


@transaction.atomic
def model_version_register(
    *,
    run: TrainingRun,
    result: dict,
    onnx: bytes,
    checkpoint: bytes,
    n_votes: int,
    snapshot_at,
    pseudo_labels: dict[int, int] | None = None,
    train_image_ids: list[int] | None = None,
    train_provenance: dict[str, int] | None = None,
) -> ModelVersion:
    """Store a trained model's files and metrics as the next version (a candidate) and close its run.

    `train_image_ids` and the images the model labelled itself are what it learned from;
    `train_provenance` counts them by where their labels came from (the public model card shows it).
    """
    number = (ModelVersion.objects.aggregate(n=Max("version"))["n"] or 0) + 1
    onnx_sha, checkpoint_sha = sha256_of(onnx), sha256_of(checkpoint)
    saved: list[str] = []
    try:
        onnx_name = private_storage.save(f"models/v{number}-{onnx_sha[:12]}.onnx", ContentFile(onnx))
        saved.append(onnx_name)
        checkpoint_name = private_storage.save(f"models/v{number}-{checkpoint_sha[:12]}.pt", ContentFile(checkpoint))
        saved.append(checkpoint_name)
        version = ModelVersion.objects.create(
            version=number,
            training_run=run,
            architecture=ARCHITECTURE,
            hyperparameters=result["config"],
            n_train_images=result["n_train"],
            n_pseudo_labels=len(pseudo_labels or {}),
            pseudo_labels={str(image_id): label for image_id, label in (pseudo_labels or {}).items()},
            train_image_ids=sorted({*(train_image_ids or []), *(pseudo_labels or {})}),
            train_provenance=train_provenance or {},
            n_val_images=result["n_val"],
            n_votes=n_votes,
            history=result["history"],
            best_epoch=result["best_epoch"],
            epochs=result["epochs"],
            val_accuracy=result["val_accuracy"],
            # Optional: a result from before honest selection and calibration has none of these.
            balanced_accuracy=result.get("balanced_accuracy"),
            ece=result.get("ece"),
            ece_calibrated=result.get("ece_calibrated"),
            temperature=result.get("temperature", 1.0),
            selection_accuracy=result.get("selection_accuracy"),
            n_selection_images=result.get("n_selection", 0),
            precision=result["precision"],
            recall=result["recall"],
            confusion=result["confusion"],
            training_seconds=result["wall_seconds"],
            device=result["device"],
            checkpoint=checkpoint_name,
            checkpoint_sha256=checkpoint_sha,
            onnx=onnx_name,
            onnx_sha256=onnx_sha,
            onnx_bytes=len(onnx),
            data_snapshot_at=snapshot_at,
        )
        TrainingRun.objects.filter(pk=run.pk).update(
            state=TrainingRun.State.DONE, finished_at=timezone.now(), updated_at=timezone.now()
        )
    except BaseException:
        for name in saved:
            private_storage.delete(name)
        raise
    return version


@transaction.atomic
def model_version_promote(*, version_id: int, force: bool = False) -> bool:
    """Make a version active if it is at least as accurate as the active one (or if forced).

    Returns whether it is active afterwards; a version that fails the gate stays a candidate.
    """
    version = ModelVersion.objects.select_for_update().get(pk=version_id)
    active = ModelVersion.objects.select_for_update().filter(status=ModelVersion.Status.ACTIVE).first()
    if active is not None and active.pk == version.pk:
        return True
    if (
        active is not None
        and not force
        and version.val_accuracy < active.val_accuracy - settings.MODEL_PROMOTION_TOLERANCE
    ):
        return False
    _activate(version, replacing=active, replaced_status=ModelVersion.Status.RETIRED)
    return True


@transaction.atomic
def model_version_rollback() -> ModelVersion:
    """Put the previously active version back in service; the current one becomes a candidate again."""
    active = ModelVersion.objects.select_for_update().filter(status=ModelVersion.Status.ACTIVE).first()
    if active is None:
        raise NoActiveModel("There is no active model to roll back.")
    previous = (
        ModelVersion.objects.select_for_update()
        .filter(status=ModelVersion.Status.RETIRED, activated_at__isnull=False)
        .order_by("-activated_at")
        .first()
    )
    if previous is None:
        raise NothingToRollBackTo(f"v{active.version} is the only version that has been active.")
    _activate(previous, replacing=active, replaced_status=ModelVersion.Status.CANDIDATE)
    return previous


def _activate(version: ModelVersion, *, replacing: ModelVersion | None, replaced_status: str) -> None:
    """Put `version` in service and the one it replaces (locked by the caller) out of it, as `replaced_status`."""
    if replacing is not None:
        replacing.status = replaced_status
        replacing.save(update_fields=["status"])
    version.status = ModelVersion.Status.ACTIVE
    version.activated_at = timezone.now()
    version.save(update_fields=["status", "activated_at"])
    _model_scores_refresh_on_commit(version)


def _model_scores_refresh_on_commit(version: ModelVersion) -> None:
    """Uncertainty-first selection ranks images by the active model: score the pool once it is live."""
    if settings.QUIZ_SELECTION == "uncertain":
        from modelzoo.tasks import images_score_unlabelled

        transaction.on_commit(lambda: images_score_unlabelled.delay(version.pk))


def retrain_if_enough_labels() -> TrainingRun | None:
    """The scheduled check: queue a retrain once enough images gained a label since the active model's data."""
    _fail_stale_runs()
    active = model_version_active()
    gained = labels_gained_since(active.data_snapshot_at if active else None)
    if gained < settings.RETRAIN_MIN_NEW_LABELS:
        return None
    try:
        return training_run_request(triggered_by=f"schedule ({gained} new labels)")
    except TrainingAlreadyRunning:
        return None


def _fail_stale_runs() -> int:
    """Mark failed the running runs whose heartbeat stopped (their worker died); return how many."""
    cutoff = timezone.now() - timedelta(seconds=settings.TRAINING_HEARTBEAT_TIMEOUT)
    stale = TrainingRun.objects.filter(state=TrainingRun.State.RUNNING).filter(
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, updated_at__lt=cutoff)
    )
    failed = 0
    for run in stale:
        logger.warning("training run %s: no heartbeat from %s since %s", run.pk, run.worker, run.heartbeat_at)
        # Conditional on the state: a run that finished meanwhile is left alone.
        failed += TrainingRun.objects.filter(pk=run.pk, state=TrainingRun.State.RUNNING).update(
            state=TrainingRun.State.FAILED,
            error=f"The training worker {run.worker or '?'} stopped sending heartbeats: it was stopped or killed.",
            finished_at=timezone.now(),
            updated_at=timezone.now(),
        )
    return failed


@transaction.atomic
def model_versions_record_withdrawn(*, image_ids: Collection[int]) -> int:
    """Note on every version that trained on these images that they were deleted afterwards."""
    withdrawn = set(image_ids)
    if not withdrawn:
        return 0
    now = timezone.now().isoformat()
    changed = 0
    # Few versions, and a JSON list is not indexable the same way on every backend: checked here.
    for version in ModelVersion.objects.select_for_update().only("id", "train_image_ids", "withdrawn_images"):
        hit = sorted(withdrawn.intersection(version.train_image_ids))
        if not hit:
            continue
        version.withdrawn_images = version.withdrawn_images + [{"image_id": i, "withdrawn_at": now} for i in hit]
        version.save(update_fields=["withdrawn_images"])
        changed += 1
    return changed
