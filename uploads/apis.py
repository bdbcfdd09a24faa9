"""JSON API of uploads. Anonymous, like the quiz: the uploader is recognised by the voter cookie."""

from __future__ import annotations

from django.conf import settings
from django.shortcuts import get_object_or_404
from rest_framework import status
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from quiz.identity import ip_hash, voter_key
from uploads.errors import UploadError
from uploads.models import Upload
from uploads.serializers import CorrectionInput, UploadOutput
from uploads.services import upload_correct, upload_create
from uploads.throttles import UploadThrottle

# Multipart framing around the file: a request this much larger than the cap cannot hold an allowed file.
_MULTIPART_SLACK = 64 * 1024


def error_response(error: UploadError) -> Response:
    return Response({"detail": error.message, "code": error.code}, status=error.http_status)


def read_uploaded_file(request) -> bytes:
    """The `image` field's bytes; refuses oversized bodies before reading them."""
    declared = request.META.get("CONTENT_LENGTH") or "0"
    if declared.isdigit() and int(declared) > settings.UPLOAD_MAX_BYTES + _MULTIPART_SLACK:
        raise UploadError(
            f"The file is larger than {settings.UPLOAD_MAX_BYTES // (1024 * 1024)} MB.",
            http_status=413,
            code="too_large",
        )
    files = request.FILES.getlist("image")
    if len(files) != 1:
        raise UploadError("Send exactly one photo in the multipart field 'image'.", code="missing_image")
    uploaded = files[0]
    if uploaded.size > settings.UPLOAD_MAX_BYTES:
        raise UploadError(
            f"The file is larger than {settings.UPLOAD_MAX_BYTES // (1024 * 1024)} MB.",
            http_status=413,
            code="too_large",
        )
    return uploaded.read()


class PublicUploadApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]


class UploadCreateApi(PublicUploadApi):
    parser_classes = [MultiPartParser]
    throttle_classes = [UploadThrottle]

    def post(self, request):
        try:
            upload = upload_create(data=read_uploaded_file(request), uploader_key=voter_key(request))
        except UploadError as error:
            return error_response(error)
        body = UploadOutput(upload, context={"request": request}).data
        return Response(body, status=status.HTTP_202_ACCEPTED)


class UploadDetailApi(PublicUploadApi):
    def get(self, request, upload_id):
        upload = get_object_or_404(Upload.objects.select_related("image", "model_version"), pk=upload_id)
        return Response(UploadOutput(upload, context={"request": request}).data)


class UploadCorrectionApi(PublicUploadApi):
    parser_classes = [JSONParser]

    def post(self, request, upload_id):
        get_object_or_404(Upload, pk=upload_id)
        payload = CorrectionInput(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            upload = upload_correct(
                upload_id=upload_id,
                voter_key=voter_key(request),
                corrosion=payload.validated_data["corrosion"],
                ip_hash=ip_hash(request),
            )
        except UploadError as error:
            return error_response(error)
        return Response(UploadOutput(upload, context={"request": request}).data)
