"""JSON API of uploads. Anonymous, like the quiz: the uploader is recognised by the voter cookie, or a script
by its API token (`Authorization: Token <key>`), both through uploads.identity. An unshared upload is its
uploader's alone: to anyone else it does not exist."""

from __future__ import annotations

from django.conf import settings
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.authentication import TokenAuthentication
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from corrosiondetector.openapi import RETRY_AFTER, ErrorOutput, error_responses
from quiz.identity import ip_hash
from uploads.errors import UploadError, UploadTooLarge
from uploads.identity import caller_key, uploader_key
from uploads.models import Upload
from uploads.selectors import upload_visible
from uploads.serializers import SHARE_VALUES, CorrectionInput, ShareInput, UploadOutput, share_from
from uploads.services import upload_correct, upload_create, upload_delete, upload_share
from uploads.throttles import UploadThrottle

# Multipart framing around the file: a request this much larger than the cap cannot hold an allowed file.
_MULTIPART_SLACK = 64 * 1024


# An id that is not a UUID never reaches these views: Django's URL resolver answers with its HTML 404 page.
NOT_FOUND = {
    (404, "application/json"): OpenApiResponse(
        ErrorOutput, description="No upload with this id (JSON), or an id that is not a UUID (Django's HTML page)."
    ),
    (404, "text/html"): OpenApiTypes.STR,
}


def read_uploaded_file(request) -> bytes:
    """The `image` field's bytes; refuses oversized bodies before reading them."""
    declared = request.META.get("CONTENT_LENGTH") or "0"
    if declared.isdigit() and int(declared) > settings.UPLOAD_MAX_BYTES + _MULTIPART_SLACK:
        raise UploadTooLarge()
    files = request.FILES.getlist("image")
    if len(files) != 1:
        raise UploadError("Send exactly one photo in the multipart field 'image'.", code="missing_image")
    uploaded = files[0]
    if uploaded.size > settings.UPLOAD_MAX_BYTES:
        raise UploadTooLarge()
    return uploaded.read()


# A wrong token is refused (401) rather than taken for an anonymous caller: a script would otherwise
# upload as a stranger and lose sight of its own unshared photos.
WRONG_TOKEN = error_responses(401, e401="A wrong API token in `Authorization: Token <key>`.")


class PublicUploadApi(APIView):
    # Tokens only, no session: a browser's cookie calls still need no CSRF token (the voter cookie is
    # SameSite=Lax, so a cross-site POST does not carry it).
    authentication_classes = [TokenAuthentication]
    permission_classes = [AllowAny]


class UploadInput(serializers.Serializer):
    image = serializers.FileField(help_text="a JPEG, PNG or WebP photo; the bytes decide, not the name or type")
    share = serializers.ChoiceField(
        choices=list(SHARE_VALUES),
        required=False,
        help_text='"Share with the crowd": show it to volunteers and train on it (after moderation). '
        "Missing or false: classified and shown to the uploader only.",
    )


class UploadCreateApi(PublicUploadApi):
    parser_classes = [MultiPartParser]
    throttle_classes = [UploadThrottle]

    @extend_schema(
        summary="Upload a photo to classify",
        request={"multipart/form-data": UploadInput},
        parameters=[RETRY_AFTER],
        responses={
            202: UploadOutput,
            **error_responses(
                400,
                413,
                415,
                429,
                e400="No single `image` field, a `share` other than true/false/1/0/on, malformed multipart, "
                "or an empty, truncated or corrupt image.",
                e415="Not multipart/form-data, or the file is not a real JPEG, PNG or WebP image.",
            ),
            **WRONG_TOKEN,
        },
    )
    def post(self, request):
        data = read_uploaded_file(request)  # first: it refuses an oversized body before it is parsed
        shared = share_from(request.data.getlist("share"))
        upload = upload_create(data=data, uploader_key=uploader_key(request), shared=shared)
        body = UploadOutput(upload, context={"request": request}).data
        return Response(body, status=status.HTTP_202_ACCEPTED)


def _visible_or_404(request, upload_id) -> Upload:
    upload = upload_visible(upload_id=upload_id, viewer_key=caller_key(request))
    if upload is None:
        raise Http404("No such upload.")
    return upload


class UploadDetailApi(PublicUploadApi):
    @extend_schema(
        summary="An upload's status and verdict (an unshared one: uploader only)",
        responses={200: UploadOutput, **WRONG_TOKEN, **NOT_FOUND},
    )
    def get(self, request, upload_id):
        return Response(UploadOutput(_visible_or_404(request, upload_id), context={"request": request}).data)

    @extend_schema(
        summary="Delete an upload: its photo, heatmap and votes (uploader only)",
        responses={204: None, **WRONG_TOKEN, **NOT_FOUND},
    )
    def delete(self, request, upload_id):
        upload_delete(upload_id=upload_id, voter_key=caller_key(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class UploadShareApi(PublicUploadApi):
    parser_classes = [JSONParser]

    @extend_schema(
        summary="Share an upload with the crowd, or take it back (uploader only)",
        request=ShareInput,
        responses={200: UploadOutput, **error_responses(400, 415), **WRONG_TOKEN, **NOT_FOUND},
    )
    def post(self, request, upload_id):
        payload = ShareInput(data=request.data)
        payload.is_valid(raise_exception=True)
        upload = upload_share(
            upload_id=upload_id, voter_key=caller_key(request), shared=payload.validated_data["shared"]
        )
        return Response(UploadOutput(upload, context={"request": request}).data)


class UploadCorrectionApi(PublicUploadApi):
    parser_classes = [JSONParser]

    @extend_schema(
        summary="Say what the photo really shows (uploader only)",
        request=CorrectionInput,
        responses={
            200: UploadOutput,
            **error_responses(400, 403, 415, e403="Only the uploader (by voter cookie or token) may correct."),
            **WRONG_TOKEN,
            **NOT_FOUND,
        },
    )
    def post(self, request, upload_id):
        _visible_or_404(request, upload_id)
        payload = CorrectionInput(data=request.data)
        payload.is_valid(raise_exception=True)
        upload = upload_correct(
            upload_id=upload_id,
            voter_key=caller_key(request),
            corrosion=payload.validated_data["corrosion"],
            ip_hash=ip_hash(request),
        )
        return Response(UploadOutput(upload, context={"request": request}).data)
