"""JSON API of videos, anonymous like uploads: the uploader is known by the voter cookie or an API token
(uploads.identity); an unshared video is its uploader's alone."""

from __future__ import annotations

from django.conf import settings
from django.core.files.uploadhandler import TemporaryFileUploadHandler
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from corrosiondetector.openapi import RETRY_AFTER, ErrorOutput, error_responses
from uploads.apis import WRONG_TOKEN, PublicUploadApi
from uploads.identity import caller_key, uploader_key
from uploads.serializers import SHARE_VALUES, share_from
from uploads.throttles import UploadThrottle
from videos.errors import VideoError, VideoTooLarge
from videos.selectors import video_visible
from videos.serializers import SharedFramesOutput, VideoCreated, VideoOutput
from videos.services import video_create, video_delete, video_frames_share

# An id that is not a UUID never reaches these views: Django's URL resolver answers with its HTML 404 page.
NOT_FOUND = {
    (404, "application/json"): OpenApiResponse(
        ErrorOutput, description="No video with this id that the caller may see (JSON), or an id that is not a UUID."
    ),
    (404, "text/html"): OpenApiTypes.STR,
}

# Multipart framing around the file: a request this much larger than the cap cannot hold an allowed file.
_MULTIPART_SLACK = 64 * 1024


class CappedTemporaryFileUploadHandler(TemporaryFileUploadHandler):
    """Streams the file to a temporary file on disk and stops once it passes VIDEO_MAX_BYTES, whatever the
    request's Content-Length claimed."""

    def receive_data_chunk(self, raw_data, start):
        if start + len(raw_data) > settings.VIDEO_MAX_BYTES:
            raise VideoTooLarge()
        return super().receive_data_chunk(raw_data, start)


class VideoInput(serializers.Serializer):
    video = serializers.FileField(help_text="an MP4, MOV, MKV or WebM clip; the bytes decide, not the name")
    share = serializers.ChoiceField(choices=list(SHARE_VALUES), required=False)


class VideoCreateApi(PublicUploadApi):
    parser_classes = [MultiPartParser]
    throttle_classes = [UploadThrottle]

    def initialize_request(self, request, *args, **kwargs):
        # Before anything parses the body: a clip goes to disk, never into memory.
        request.upload_handlers = [CappedTemporaryFileUploadHandler(request)]
        return super().initialize_request(request, *args, **kwargs)

    @extend_schema(
        summary="Upload a video to classify frame by frame",
        request={"multipart/form-data": VideoInput},
        parameters=[RETRY_AFTER],
        responses={
            202: VideoCreated,
            **error_responses(
                400,
                413,
                415,
                429,
                e400="No single `video` field, a bad `share`, or an empty, truncated or corrupt video.",
                e413="Larger than VIDEO_MAX_BYTES, longer than VIDEO_MAX_SECONDS, or frames over the pixel cap.",
                e415="Not multipart/form-data, or not an MP4, MOV, MKV or WebM video with a decodable video stream.",
            ),
            **WRONG_TOKEN,
        },
    )
    def post(self, request):
        declared = request.META.get("CONTENT_LENGTH") or "0"
        if declared.isdigit() and int(declared) > settings.VIDEO_MAX_BYTES + _MULTIPART_SLACK:
            raise VideoTooLarge()
        files = request.FILES.getlist("video")
        if len(files) != 1:
            raise VideoError("Send exactly one video in the multipart field 'video'.", code="missing_video")
        shared = share_from(request.data.getlist("share"))
        video = video_create(path=files[0].temporary_file_path(), uploader_key=uploader_key(request), shared=shared)
        return Response({"id": str(video.id)}, status=status.HTTP_202_ACCEPTED)


class VideoDetailApi(PublicUploadApi):
    @extend_schema(
        summary="A video's progress and corrosion timeline (an unshared one: uploader only)",
        responses={200: VideoOutput, **WRONG_TOKEN, **NOT_FOUND},
    )
    def get(self, request, video_id):
        video = video_visible(video_id=video_id, viewer_key=caller_key(request))
        if video is None:
            raise Http404("No such video.")
        return Response(VideoOutput(video, context={"request": request}).data)

    @extend_schema(
        summary="Delete a video with its key frames (uploader only)",
        responses={204: None, **WRONG_TOKEN, **NOT_FOUND},
    )
    def delete(self, request, video_id):
        video_delete(video_id=video_id, uploader_key=caller_key(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class VideoShareFramesApi(PublicUploadApi):
    throttle_classes = [UploadThrottle]

    @extend_schema(
        summary="Share the video's key frames with the crowd, as photo uploads (uploader only)",
        description="The peak frame of each segment and the frames the model is least sure of become shared photo "
        "uploads of the caller: classified, moderated like any shared photo before volunteers see them, listed "
        "under My uploads. Only for a video uploaded with `share`; sharing again adds nothing.",
        request=None,
        responses={
            200: SharedFramesOutput,
            **error_responses(
                409,
                429,
                e409="The video is not shared with the crowd (`not_shared`), or not analysed yet (`not_done`).",
            ),
            **WRONG_TOKEN,
            **NOT_FOUND,
        },
    )
    def post(self, request, video_id):
        shared = video_frames_share(video_id=video_id, uploader_key=caller_key(request))
        return Response(SharedFramesOutput({"frames": shared}).data)
