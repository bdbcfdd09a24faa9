from rest_framework import serializers

from modelzoo.models import ModelVersion, TrainingRun


class ModelVersionOutput(serializers.ModelSerializer):
    class Meta:
        model = ModelVersion
        fields = [
            "version",
            "status",
            "architecture",
            "hyperparameters",
            "n_train_images",
            "train_provenance",
            "n_pseudo_labels",
            "n_val_images",
            "n_votes",
            "val_accuracy",
            "balanced_accuracy",
            "ece",
            "ece_calibrated",
            "temperature",
            "selection_accuracy",
            "n_selection_images",
            "precision",
            "recall",
            "confusion",
            "best_epoch",
            "epochs",
            "history",
            "training_seconds",
            "device",
            "onnx_sha256",
            "onnx_bytes",
            "checkpoint_sha256",
            "created_at",
            "activated_at",
        ]


class TrainingRunOutput(serializers.ModelSerializer):
    class Meta:
        model = TrainingRun
        fields = [
            "id",
            "state",
            "triggered_by",
            "epoch",
            "epochs_total",
            "created_at",
            "started_at",
            "finished_at",
            "error",
        ]


class RetrainInput(serializers.Serializer):
    epochs = serializers.IntegerField(min_value=1, max_value=200, required=False)
    promote = serializers.BooleanField(default=True)


class TrainingPhotosOutput(serializers.Serializer):
    total = serializers.IntegerField()
    expert = serializers.IntegerField(help_text="labelled by experts")
    crowd = serializers.IntegerField(help_text="labelled by volunteers' votes")
    imported = serializers.IntegerField(help_text="labelled by the source they were imported from")
    model = serializers.IntegerField(help_text="labelled by a teacher model (self-training)")
    recorded = serializers.BooleanField(
        help_text="true: counted when the data was read; false: an older version, counted now from its training "
        "photos' current labels"
    )


class ConfusionOutput(serializers.Serializer):
    labels = serializers.ListField(child=serializers.CharField(), help_text="class order of rows and columns")
    matrix = serializers.ListField(
        child=serializers.ListField(child=serializers.IntegerField()),
        help_text="rows: the experts' label, columns: the model's verdict",
    )


class ValidationOutput(serializers.Serializer):
    images = serializers.IntegerField(help_text="expert-labelled validation photos, never trained on")
    accuracy = serializers.FloatField()
    balanced_accuracy = serializers.FloatField(allow_null=True)
    precision = serializers.DictField(child=serializers.FloatField())
    recall = serializers.DictField(child=serializers.FloatField())
    confusion = ConfusionOutput()


class CalibrationOutput(serializers.Serializer):
    temperature = serializers.FloatField(help_text="the logits are divided by it: probabilities are calibrated")
    ece = serializers.FloatField(allow_null=True, help_text="expected calibration error before calibration")
    ece_calibrated = serializers.FloatField(allow_null=True, help_text="... and after: what users see")


class HistoryPointOutput(serializers.Serializer):
    version = serializers.IntegerField()
    n_votes = serializers.IntegerField(help_text="crowd votes recorded when it trained")
    val_accuracy = serializers.FloatField()
    trained_at = serializers.DateTimeField()


class ForecastTargetOutput(serializers.Serializer):
    accuracy = serializers.FloatField()
    votes = serializers.IntegerField(help_text="central estimate of the cumulative votes needed")
    votes_low = serializers.IntegerField(help_text="10th percentile of bootstrap refits")
    votes_high = serializers.IntegerField(help_text="90th percentile")


class ForecastOutput(serializers.Serializer):
    ok = serializers.BooleanField(help_text="false: no curve could be fitted yet (see reason)")
    reason = serializers.CharField()
    votes_now = serializers.IntegerField()
    targets = ForecastTargetOutput(many=True)


class ModelCardOutput(serializers.Serializer):
    version = serializers.IntegerField()
    architecture = serializers.CharField()
    trained_at = serializers.DateTimeField()
    activated_at = serializers.DateTimeField(allow_null=True)
    training_photos = TrainingPhotosOutput(allow_null=True, help_text="null: the version recorded no training photos")
    validation = ValidationOutput()
    calibration = CalibrationOutput()
    history = HistoryPointOutput(many=True, help_text="every version's accuracy against votes (the paper's Fig. 3b)")
    forecast = ForecastOutput()
    limitations = serializers.ListField(child=serializers.CharField())
    disclaimer = serializers.CharField()
    url = serializers.CharField(help_text="the card as a page")
