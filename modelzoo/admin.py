from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from modelzoo.errors import ModelZooError
from modelzoo.models import ModelVersion, TrainingRun
from modelzoo.permissions import can_trigger_training
from modelzoo.services import model_version_promote, model_version_rollback, training_run_request


def confusion_table(confusion: list[list[int]]):
    if not confusion:
        return "—"
    names = ["no corrosion", "corrosion"]
    rows = format_html_join(
        "",
        "<tr><th>{}</th><td>{}</td><td>{}</td></tr>",
        ((names[i], row[0], row[1]) for i, row in enumerate(confusion)),
    )
    return format_html(
        "<table><tr><th>true \\ predicted</th><th>{}</th><th>{}</th></tr>{}</table>", names[0], names[1], rows
    )


def history_table(history: list[dict]):
    if not history:
        return "—"
    rows = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        (
            (
                h.get("epoch"),
                f"{h.get('train_loss', 0.0):.4f}",
                f"{h.get('train_acc', 0.0):.1%}",
                f"{h['select_acc']:.1%}" if "select_acc" in h else "—",
                f"{h.get('val_loss', 0.0):.4f}",
                f"{h.get('val_acc', 0.0):.1%}",
            )
            for h in history
        ),
    )
    return format_html(
        "<table><tr><th>epoch</th><th>train loss</th><th>train acc.</th><th>selection acc. (chooses)</th>"
        "<th>val loss</th><th>val acc.</th></tr>"
        "{}</table>",
        rows,
    )


def withdrawn_table(withdrawn: list[dict]):
    if not withdrawn:
        return "—"
    rows = format_html_join(
        "", "<tr><td>{}</td><td>{}</td></tr>", ((w.get("image_id"), w.get("withdrawn_at")) for w in withdrawn)
    )
    return format_html("<table><tr><th>image id</th><th>withdrawn at</th></tr>{}</table>", rows)


class TrainingActionsMixin:
    def has_trigger_permission(self, request) -> bool:
        return can_trigger_training(request.user)

    @admin.action(description="Retrain now (queue a training run)", permissions=["trigger"])
    def retrain(self, request, queryset=None):
        try:
            run = training_run_request(triggered_by=f"user:{request.user.get_username()}", user=request.user)
        except ModelZooError as error:
            self.message_user(request, error.message, messages.WARNING)
            return
        self.message_user(request, f"Training run {run.pk} queued.", messages.SUCCESS)


@admin.register(ModelVersion)
class ModelVersionAdmin(TrainingActionsMixin, admin.ModelAdmin):
    list_display = [
        "version",
        "status",
        "accuracy",
        "balanced",
        "calibration_error",
        "n_train_images",
        "n_pseudo_labels",
        "n_votes",
        "best_epoch",
        "epochs",
        "training_minutes",
        "device",
        "onnx_megabytes",
        "created_at",
        "activated_at",
        "withdrawn_count",
    ]
    list_filter = ["status", "device"]
    actions = ["promote", "rollback", "retrain"]
    # Model files are private: no /media/ link (the proxy would refuse it), the download API instead.
    readonly_fields = [
        {"onnx": "onnx_file", "checkpoint": "checkpoint_file"}.get(f.name, f.name)
        for f in ModelVersion._meta.fields
        if f.name not in ("id", "confusion", "history", "pseudo_labels", "train_image_ids", "withdrawn_images")
    ] + [
        "confusion_matrix",
        "curves",
        "withdrawn",
    ]
    fields = readonly_fields

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Val. accuracy", ordering="val_accuracy")
    def accuracy(self, obj):
        return f"{obj.val_accuracy:.2%}"

    @admin.display(description="Balanced acc.", ordering="balanced_accuracy")
    def balanced(self, obj):
        return "—" if obj.balanced_accuracy is None else f"{obj.balanced_accuracy:.2%}"

    @admin.display(description="ECE raw → calibrated")
    def calibration_error(self, obj):
        if obj.ece is None or obj.ece_calibrated is None:
            return "—"
        return f"{obj.ece:.1%} → {obj.ece_calibrated:.1%} (T {obj.temperature:.2f})"

    @admin.display(description="Minutes")
    def training_minutes(self, obj):
        return f"{obj.training_seconds / 60:.1f}"

    @admin.display(description="ONNX MB")
    def onnx_megabytes(self, obj):
        return f"{obj.onnx_bytes / 1e6:.1f}"

    @admin.display(description="ONNX file")
    def onnx_file(self, obj):
        url = reverse("modelzoo:api-version-onnx", kwargs={"version": obj.version})
        return format_html('<a href="{}">{}</a>', url, obj.onnx.name)

    @admin.display(description="Checkpoint file")
    def checkpoint_file(self, obj):
        return obj.checkpoint.name

    @admin.display(description="Confusion matrix")
    def confusion_matrix(self, obj):
        return confusion_table(obj.confusion)

    @admin.display(description="Per-epoch curves")
    def curves(self, obj):
        return history_table(obj.history)

    @admin.display(description="Withdrawn images")
    def withdrawn_count(self, obj):
        return len(obj.withdrawn_images) or "—"

    @admin.display(description="Images deleted after it trained on them")
    def withdrawn(self, obj):
        return withdrawn_table(obj.withdrawn_images)

    @admin.action(description="Promote (make active, even if less accurate)", permissions=["change"])
    def promote(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one version to promote.", messages.WARNING)
            return
        version = queryset.get()
        model_version_promote(version_id=version.pk, force=True)
        self.message_user(request, f"v{version.version} is now active.", messages.SUCCESS)

    @admin.action(description="Roll back to the previously active version", permissions=["change"])
    def rollback(self, request, queryset=None):
        try:
            version = model_version_rollback()
        except ModelZooError as error:
            self.message_user(request, error.message, messages.WARNING)
            return
        self.message_user(request, f"Rolled back: v{version.version} is active again.", messages.SUCCESS)


@admin.register(TrainingRun)
class TrainingRunAdmin(TrainingActionsMixin, admin.ModelAdmin):
    list_display = ["id", "state", "triggered_by", "progress", "latest_val_accuracy", "created_at", "finished_at"]
    list_filter = ["state"]
    actions = ["retrain"]
    readonly_fields = [f.name for f in TrainingRun._meta.fields if f.name not in ("id", "slot", "history")] + ["curves"]
    fields = readonly_fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="Epoch")
    def progress(self, obj):
        return f"{obj.epoch}/{obj.epochs_total}" if obj.epochs_total else "—"

    @admin.display(description="Val. accuracy (last epoch)")
    def latest_val_accuracy(self, obj):
        value = obj.latest_metrics.get("val_acc")
        return "—" if value is None else f"{value:.1%}"

    @admin.display(description="Per-epoch curves")
    def curves(self, obj):
        return history_table(obj.history)
