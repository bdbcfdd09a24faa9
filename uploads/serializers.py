from rest_framework import serializers

from uploads.models import Upload


class UploadOutput(serializers.ModelSerializer):
    id = serializers.UUIDField(read_only=True)
    # None until a model has given its verdict.
    model_version = serializers.IntegerField(
        source="model_version.version", default=None, allow_null=True, read_only=True
    )
    heatmap_url = serializers.SerializerMethodField()
    image_url = serializers.SerializerMethodField()

    class Meta:
        model = Upload
        fields = [
            "id",
            "status",
            "label",
            "probability",
            "model_version",
            "heatmap_url",
            "image_url",
            "corrected_label",
            "failure_reason",
            "created_at",
            "finished_at",
        ]

    def _absolute(self, url: str | None) -> str | None:
        request = self.context.get("request")
        return request.build_absolute_uri(url) if (url and request) else url

    def get_heatmap_url(self, upload: Upload) -> str | None:
        return self._absolute(upload.heatmap.url) if upload.heatmap else None

    def get_image_url(self, upload: Upload) -> str:
        return self._absolute(upload.image.file.url)


class CorrectionInput(serializers.Serializer):
    corrosion = serializers.BooleanField()
