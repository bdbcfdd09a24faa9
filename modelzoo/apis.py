from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from corrosiondetector.media import private_file_response
from corrosiondetector.openapi import error_responses
from modelzoo.models import ModelVersion
from modelzoo.permissions import CanTriggerTraining, CanViewModels
from modelzoo.selectors import model_version_get
from modelzoo.serializers import ModelVersionOutput, RetrainInput, TrainingRunOutput
from modelzoo.services import training_run_request


class ModelVersionListApi(APIView):
    permission_classes = [CanViewModels]

    @extend_schema(
        summary="Model versions with their metrics (researchers and staff)",
        responses={
            200: inline_serializer("ModelVersionList", {"results": ModelVersionOutput(many=True)}),
            **error_responses(401, 403),
        },
    )
    def get(self, request):
        versions = ModelVersion.objects.order_by("-version")
        return Response({"results": ModelVersionOutput(versions, many=True).data})


class RetrainApi(APIView):
    permission_classes = [CanTriggerTraining]

    @extend_schema(
        summary="Queue a training run (researchers and staff)",
        request=RetrainInput,
        responses={
            202: TrainingRunOutput,
            **error_responses(400, 401, 403, 409, 415, e409="A training run is already queued or running."),
        },
    )
    def post(self, request):
        payload = RetrainInput(data=request.data)
        payload.is_valid(raise_exception=True)
        config = {"epochs": payload.validated_data["epochs"]} if "epochs" in payload.validated_data else {}
        run = training_run_request(
            triggered_by=f"user:{request.user.get_username()}",
            user=request.user,
            config=config,
            promote=payload.validated_data["promote"],
        )
        return Response(TrainingRunOutput(run).data, status=status.HTTP_202_ACCEPTED)


class ModelVersionOnnxApi(APIView):
    # Model weights are never public: the same people who may retrain may take them away.
    permission_classes = [CanTriggerTraining]

    def perform_content_negotiation(self, request, force=False):
        # The body is a file whatever Accept says (`Accept: application/octet-stream` must not get 406);
        # errors stay JSON.
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        summary="Download a version's ONNX model (researchers and staff)",
        parameters=[OpenApiParameter("version", int, OpenApiParameter.PATH, description="the version number")],
        responses={
            (200, "application/octet-stream"): OpenApiResponse(
                OpenApiTypes.BINARY, description="the ONNX file (local media storage)"
            ),
            302: OpenApiResponse(description="media on S3: a presigned URL of the file, valid for a few minutes"),
            **error_responses(401, 403, 404, e404="No such version, or its file is missing."),
        },
    )
    def get(self, request, version: str):
        found = model_version_get(version=int(version)) if version.isascii() and version.isdigit() else None
        if found is None:
            raise Http404("No such model version.")
        return private_file_response(
            found.onnx.name,
            storage=found.onnx.storage,
            filename=f"corrosion-v{found.version}-{found.onnx_sha256[:12]}.onnx",
        )
