"""Find the training labels confident learning thinks are wrong, and mark them for the crowd and staff."""

from django.core.management.base import BaseCommand, CommandError

from modelzoo.errors import ModelZooError
from modelzoo.services import suspect_labels_find, suspect_labels_request


class Command(BaseCommand):
    help = (
        "Score every labelled training image out of fold (k fold models), mark the labels the scores "
        "contradict as suspect (clearing earlier marks). Runs here, or with --enqueue on the training queue."
    )

    def add_arguments(self, parser):
        parser.add_argument("--folds", type=int, help="default: SUSPECT_LABELS_FOLDS (3)")
        parser.add_argument("--epochs", type=int, help="fold models' epochs (default: SUSPECT_LABELS_CONFIG's)")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--enqueue", action="store_true", help="queue it for the training worker instead")

    def handle(self, *args, folds, epochs, seed, enqueue, **options):
        if folds is not None and not 2 <= folds <= 10:
            raise CommandError("--folds must be between 2 and 10")
        if epochs is not None and epochs < 1:
            raise CommandError("--epochs must be at least 1")
        if enqueue:
            if folds is not None or epochs is not None:
                raise CommandError("--enqueue uses the settings; --folds and --epochs apply to a run here")
            suspect_labels_request()
            self.stdout.write("Queued a suspect-label search on the training queue.")
            return
        config = {"epochs": epochs} if epochs is not None else {}
        try:
            outcome = suspect_labels_find(folds=folds, config=config, seed=seed, progress=True)
        except ModelZooError as error:
            raise CommandError(error.message) from None
        rates = ", ".join(f"{label} {rate:.1%}" for label, rate in outcome.noise_rates.items())
        self.stdout.write(
            self.style.SUCCESS(
                f"{outcome.n_suspects} suspect labels among {outcome.n_images} training images "
                f"({outcome.n_cleared} earlier marks cleared); estimated wrong labels: {rates}; "
                f"{outcome.seconds:.0f} s."
            )
        )
