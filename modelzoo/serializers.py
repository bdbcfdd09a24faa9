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
