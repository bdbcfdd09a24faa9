from django.urls import reverse
from rest_framework import serializers

from videos.models import Video


def key_frame_url(video: Video, index: int, kind: str) -> str:
    return reverse("videos:file", kwargs={"video_id": video.pk, "index": index, "kind": kind})


class VideoOutput(serializers.ModelSerializer):
    """The issue's shape: status, progress, duration, model version, frames, segments, key frames."""

    id = serializers.UUIDField(read_only=True)
    progress = serializers.SerializerMethodField()
    model_version = serializers.IntegerField(
        source="model_version.version", default=None, allow_null=True, read_only=True
    )
    key_frames = serializers.SerializerMethodField()

    class Meta:
        model = Video
        fields = [
            "id",
            "status",
            "failure_reason",
            "shared",
            "progress",
            "duration_s",
            "model_version",
            "frames",
            "segments",
            "key_frames",
            "created_at",
            "finished_at",
        ]

    def get_progress(self, video: Video) -> dict:
        return {"done": video.progress_done, "total": video.progress_total}

    def get_key_frames(self, video: Video) -> list[dict]:
        request = self.context.get("request")

        def absolute(url: str) -> str:
            return request.build_absolute_uri(url) if request else url

        return [
            {
                "t": key_frame["t"],
                "image_url": absolute(key_frame_url(video, index, "image")),
                "heatmap_url": absolute(key_frame_url(video, index, "heatmap")),
                "probability": key_frame["probability"],
            }
            for index, key_frame in enumerate(video.key_frames)
        ]
