from django.urls import reverse
from django.utils.translation import gettext as _
from rest_framework import serializers

from modelzoo.card import heatmap_description
from quiz.models import Label
from uploads.errors import UploadError
from uploads.files import upload_file_url
from uploads.models import Upload

# What "Share with the crowd" may be sent as: a form's checkbox sends "on", or nothing when unticked.
SHARE_VALUES = {"true": True, "1": True, "on": True, "false": False, "0": False}


def share_from(values: list[str]) -> bool:
    """The `share` field of an upload form (every value sent for it): missing = not shared."""
    if not values:
        return False
    if len(values) != 1 or values[0] not in SHARE_VALUES:
        raise UploadError(_("share: send true or false (or 1, 0, on)."), code="invalid")
    return SHARE_VALUES[values[0]]


class UploadOutput(serializers.ModelSerializer):
    id = serializers.UUIDField(read_only=True)
    # None until a model has given its verdict.
    model_version = serializers.IntegerField(
        source="model_version.version", default=None, allow_null=True, read_only=True
    )
    shared = serializers.BooleanField(
        read_only=True,
        help_text="shown to volunteers and used for training (after moderation); unshared, its files are served "
        "to the uploader alone",
    )
    model_accuracy = serializers.FloatField(
        source="model_version.val_accuracy",
        default=None,
        allow_null=True,
        read_only=True,
        help_text="the verdict's model version: its accuracy on the expert-labelled validation photos",
    )
    model_card_url = serializers.SerializerMethodField(
        help_text="the public model card (/model/): what the model learned from, how good it is, its limits"
    )
    heatmap_url = serializers.SerializerMethodField()
    heatmap_region = serializers.CharField(
        read_only=True,
        help_text='where the heatmap puts the corrosion: upper_left … centre … lower_right, or "spread"; '
        '"" for no corrosion',
    )
    heatmap_description = serializers.SerializerMethodField(
        help_text="heatmap_region in words (the heatmap's alt text); empty when there is nothing to say"
    )
    image_url = serializers.SerializerMethodField()
    thumbnail_url = serializers.SerializerMethodField()

    class Meta:
        model = Upload
        fields = [
            "id",
            "status",
            "label",
            "probability",
            "model_version",
            "model_accuracy",
            "model_card_url",
            "shared",
            "heatmap_url",
            "heatmap_region",
            "heatmap_description",
            "image_url",
            "thumbnail_url",
            "corrected_label",
            "failure_reason",
            "created_at",
            "finished_at",
        ]

    def _absolute(self, url: str | None) -> str | None:
        request = self.context.get("request")
        return request.build_absolute_uri(url) if (url and request) else url

    def get_model_card_url(self, upload: Upload) -> str | None:
        return self._absolute(reverse("modelzoo:card")) if upload.model_version_id else None

    def get_heatmap_description(self, upload: Upload) -> str:
        return heatmap_description(upload.heatmap_region) if upload.label == Label.CORROSION else ""

    def get_heatmap_url(self, upload: Upload) -> str | None:
        return self._absolute(upload_file_url(upload, "heatmap"))

    def get_image_url(self, upload: Upload) -> str:
        return self._absolute(upload_file_url(upload, "photo"))

    def get_thumbnail_url(self, upload: Upload) -> str:
        return self._absolute(upload_file_url(upload, "thumbnail"))


class CorrectionInput(serializers.Serializer):
    corrosion = serializers.BooleanField()


class ShareInput(serializers.Serializer):
    shared = serializers.BooleanField(help_text="true: share with the crowd; false: take it back (uploader only)")
