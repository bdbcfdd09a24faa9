from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from videos.models import Video


def key_frame_url(video: Video, index: int, kind: str) -> str:
    return reverse("videos:file", kwargs={"video_id": video.pk, "index": index, "kind": kind})


class VideoCreated(serializers.Serializer):
    id = serializers.UUIDField(read_only=True, help_text="poll GET /api/videos/<id>/ for progress and the timeline")


class FrameOutput(serializers.Serializer):
    t = serializers.FloatField(help_text="seconds from the start")
    probability = serializers.FloatField(help_text="P(corrosion)")
    label = serializers.CharField()


class SegmentOutput(serializers.Serializer):
    start = serializers.FloatField()
    end = serializers.FloatField()
    max_probability = serializers.FloatField()


class KeyFrameOutput(serializers.Serializer):
    t = serializers.FloatField()
    image_url = serializers.CharField()
    heatmap_url = serializers.CharField()
    probability = serializers.FloatField()


class ProgressOutput(serializers.Serializer):
    done = serializers.IntegerField(help_text="frames classified")
    total = serializers.IntegerField(help_text="frames sampled (0 until decoding is over)")


class SharedFrameOutput(serializers.Serializer):
    t = serializers.FloatField(help_text="seconds from the start")
    upload_id = serializers.UUIDField(help_text="the photo upload this frame became (GET /api/uploads/<id>/)")


class SharedFramesOutput(serializers.Serializer):
    frames = SharedFrameOutput(many=True, help_text="every frame shared so far, in time order")


class VideoOutput(serializers.ModelSerializer):
    """The issue's shape: status, progress, duration, model version, frames, segments, key frames."""

    id = serializers.UUIDField(read_only=True)
    progress = serializers.SerializerMethodField()
    model_version = serializers.IntegerField(
        source="model_version.version", default=None, allow_null=True, read_only=True
    )
    frames = FrameOutput(many=True, read_only=True)
    segments = SegmentOutput(many=True, read_only=True)
    key_frames = serializers.SerializerMethodField()
    shared_frames = SharedFrameOutput(many=True, read_only=True)

    class Meta:
        model = Video
        fields = [
            "id",
            "status",
            "failure_reason",
            "shared",
            "shared_frames",
            "progress",
            "duration_s",
            "model_version",
            "frames",
            "segments",
            "key_frames",
            "created_at",
            "finished_at",
        ]

    @extend_schema_field(ProgressOutput)
    def get_progress(self, video: Video) -> dict:
        return {"done": video.progress_done, "total": video.progress_total}

    @extend_schema_field(KeyFrameOutput(many=True))
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
