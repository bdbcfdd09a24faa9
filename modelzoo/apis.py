from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from corrosiondetector.openapi import error_responses
from modelzoo.errors import ModelZooError
from modelzoo.models import ModelVersion
from modelzoo.permissions import CanTriggerTraining, CanViewModels
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
        try:
            run = training_run_request(
                triggered_by=f"user:{request.user.get_username()}",
                user=request.user,
                config=config,
                promote=payload.validated_data["promote"],
            )
        except ModelZooError as error:
            return Response({"detail": error.message}, status=error.http_status)
        return Response(TrainingRunOutput(run).data, status=status.HTTP_202_ACCEPTED)
