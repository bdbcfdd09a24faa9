"""Train a model version now, in this process, with a progress bar."""

import json as json_module

from django.core.management.base import BaseCommand, CommandError

from modelzoo.errors import ModelZooError
from modelzoo.models import ModelVersion, TrainingRun
from modelzoo.selectors import model_version_active
from modelzoo.services import training_run_execute, training_run_request


class Command(BaseCommand):
    help = "Train on the labelled training images, score on the expert validation set, register a version."

    def add_arguments(self, parser):
        from modelzoo.ml.network import ARCHITECTURES  # torch: only when this command runs

        parser.add_argument("--epochs", type=int, help="default: the training configuration's")
        parser.add_argument("--device", choices=["auto", "cpu", "cuda"])
        parser.add_argument("--seed", type=int)
        parser.add_argument("--lr", type=float, help="Adam learning rate (default: the training configuration's)")
        parser.add_argument("--architecture", choices=ARCHITECTURES, help="the network (default: the configuration's)")
        parser.add_argument("--input-size", type=int, help="view side in pixels")
        parser.add_argument("--tiles", type=int, help="n x n tiles besides the whole view (0: the whole view only)")
        parser.add_argument("--no-promote", action="store_true", help="register as a candidate only")
        parser.add_argument("--json", action="store_true", help="print the new version as one JSON line")
        parser.add_argument("--if-no-model", action="store_true", help="do nothing when a model is active")

    def handle(self, *args, epochs, device, seed, lr, no_promote, if_no_model, json, **options):
        if if_no_model and model_version_active() is not None:
            self.stdout.write("An active model exists; not training.")
            return
        if epochs is not None and epochs < 1:
            raise CommandError("--epochs must be at least 1")
        if lr is not None and not 0 < lr < 1:
            raise CommandError("--lr must be between 0 and 1")
        if options["input_size"] is not None and not 16 <= options["input_size"] <= 1024:
            raise CommandError("--input-size must be between 16 and 1024")
        if options["tiles"] is not None and not 0 <= options["tiles"] <= 6:
            raise CommandError("--tiles must be between 0 and 6")
        given = {
            "epochs": epochs,
            "device": device,
            "seed": seed,
            "lr": lr,
            "architecture": options["architecture"],
            "input_size": options["input_size"],
            "tiles": options["tiles"],
        }
        config = {key: value for key, value in given.items() if value is not None}
        try:
            run = training_run_request(triggered_by="command", config=config, promote=not no_promote, enqueue=False)
        except ModelZooError as error:
            raise CommandError(error.message) from None
        version = training_run_execute(run_id=run.pk, progress=not json)
        run.refresh_from_db()
        if run.state != TrainingRun.State.DONE or version is None:
            raise CommandError(f"Training failed: {run.error.splitlines()[0] if run.error else 'unknown reason'}")
        if json:
            self.stdout.write(version_json(version))
            return
        status = "active" if version.status == ModelVersion.Status.ACTIVE else "candidate (did not pass the gate)"
        self.stdout.write(
            self.style.SUCCESS(
                f"v{version.version}: validation accuracy {version.val_accuracy:.2%} "
                f"(best epoch {version.best_epoch}/{version.epochs}), {version.n_train_images} training images, "
                f"{version.training_seconds:.0f} s on {version.device}, "
                f"ONNX {version.onnx_bytes / 1e6:.1f} MB; {status}."
            )
        )


def version_json(version: ModelVersion) -> str:
    return json_module.dumps(
        {
            "version": version.version,
            "status": version.status,
            "val_accuracy": version.val_accuracy,
            "n_train_images": version.n_train_images,
            "n_pseudo_labels": version.n_pseudo_labels,
            "n_votes": version.n_votes,
            "epochs": version.epochs,
            "best_epoch": version.best_epoch,
            "training_seconds": round(version.training_seconds, 2),
            "device": version.device,
            "architecture": version.architecture,
            "balanced_accuracy": version.balanced_accuracy,
            "ece_calibrated": version.ece_calibrated,
        }
    )
