"""Staff-only HTTP download of the dataset: `GET /api/dataset/export/?balanced=1&min_votes=5&split=all`."""

from __future__ import annotations

from django.http import StreamingHttpResponse
from django.utils.cache import add_never_cache_headers
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAdminUser
from rest_framework.views import APIView

from corrosiondetector.openapi import error_responses
from datasets.export import DatasetExport
from datasets.selectors import SPLIT_CHOICES, DatasetSelection, dataset_export_select


def dataset_zip_response(selection: DatasetSelection) -> StreamingHttpResponse:
    """The export as a download that starts at once and is zipped while it is sent."""
    export = DatasetExport(selection)
    response = StreamingHttpResponse(export.chunks(), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="corrosion-dataset-{export.exported_at:%Y%m%d-%H%M%S}.zip"'
    # A proxy that buffers the whole response would bring back the wait (and the memory) streaming avoids.
    response["X-Accel-Buffering"] = "no"
    add_never_cache_headers(response)
    return response


class DatasetExportApi(APIView):
    """The labelled dataset as a streamed ImageFolder zip; staff only."""

    permission_classes = [IsAdminUser]

    class InputSerializer(serializers.Serializer):
        split = serializers.ChoiceField(choices=SPLIT_CHOICES, default="all")
        balanced = serializers.BooleanField(default=False)
        min_votes = serializers.IntegerField(min_value=0, default=0)

    def perform_content_negotiation(self, request, force=False):
        # The body is a zip whatever Accept says (`Accept: application/zip` must not get 406); errors stay JSON.
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        summary="Download the labelled dataset as an ImageFolder zip (staff)",
        parameters=[InputSerializer],
        responses={
            (200, "application/zip"): OpenApiResponse(
                OpenApiTypes.BINARY, description="a zip streamed as it is made: `<split>/<label>/…`, labels.csv, README"
            ),
            **error_responses(400, 401, 403),
        },
    )
    def get(self, request):
        serializer = self.InputSerializer(data=request.query_params)
        serializer.is_valid(raise_exception=True)
        return dataset_zip_response(dataset_export_select(**serializer.validated_data))
