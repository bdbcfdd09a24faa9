from django.http import Http404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from corrosiondetector.media import private_file_response
from corrosiondetector.openapi import error_responses
from modelzoo.card import DISCLAIMER, LIMITATIONS
from modelzoo.errors import NoModelYet
from modelzoo.models import ModelVersion
from modelzoo.permissions import CanTriggerTraining, CanViewModels
from modelzoo.selectors import ModelCard, model_card, model_version_get
from modelzoo.serializers import ModelCardOutput, ModelVersionOutput, RetrainInput, TrainingRunOutput
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


class ActiveModelApi(APIView):
    """The public model card as JSON: anyone may read how good the model in service is."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        summary="The model in service: its public model card",
        description="The active version, what it trained on, its validation accuracy with the confusion matrix "
        "and calibration, accuracy against votes over all versions, the forecast of votes for 95 / 99 / 99.9 %, "
        "and its known limitations. Anonymous. No active model: 404 with code no_active_model.",
        responses={200: ModelCardOutput, **error_responses(404, e404="No model is active yet (no_active_model).")},
    )
    def get(self, request):
        card = model_card()
        if card is None:
            raise NoModelYet("No model is active yet: volunteers' labels will train the first one.")
        return Response(ModelCardOutput(model_card_data(card)).data)


def model_card_data(card: ModelCard) -> dict:
    version = card.version
    provenance = card.provenance
    return {
        "version": version.version,
        "architecture": version.architecture,
        "trained_at": version.created_at,
        "activated_at": version.activated_at,
        "training_photos": None
        if provenance is None
        else {"total": provenance.total, **provenance.counts, "recorded": provenance.recorded},
        "validation": {
            "images": version.n_val_images,
            "accuracy": version.val_accuracy,
            "balanced_accuracy": version.balanced_accuracy,
            "precision": version.precision,
            "recall": version.recall,
            "confusion": {"labels": ["no_corrosion", "corrosion"], "matrix": version.confusion},
        },
        "calibration": {
            "temperature": version.temperature,
            "ece": version.ece,
            "ece_calibrated": version.ece_calibrated,
        },
        "history": [
            {
                "version": row["version"],
                "n_votes": row["n_votes"],
                "val_accuracy": row["val_accuracy"],
                "trained_at": row["created_at"],
            }
            for row in card.history
        ],
        "forecast": {
            "ok": card.forecast.ok,
            "reason": card.forecast.reason,
            "votes_now": card.votes_now,
            "targets": [
                {"accuracy": target, "votes": round(mid), "votes_low": round(low), "votes_high": round(high)}
                for target, (low, mid, high) in card.forecast.votes_needed.items()
            ],
        },
        "limitations": [str(text) for text in LIMITATIONS],
        "disclaimer": str(DISCLAIMER),
        "url": reverse("modelzoo:card"),
    }
