from django.http import StreamingHttpResponse
from django.utils import timezone
from rest_framework import serializers
from rest_framework.permissions import IsAdminUser
from rest_framework.views import APIView

from quiz.dataset_export import SPLITS, export_queryset, zip_stream


class ExportInput(serializers.Serializer):
    split = serializers.ChoiceField(choices=SPLITS, default="all")
    balanced = serializers.BooleanField(default=False)
    min_votes = serializers.IntegerField(min_value=0, required=False)


def zip_response(images, *, balanced: bool, min_votes) -> StreamingHttpResponse:
    response = StreamingHttpResponse(
        zip_stream(images, balanced=balanced, min_votes=min_votes), content_type="application/zip"
    )
    name = f"corrosion-dataset-{timezone.now():%Y%m%d-%H%M}.zip"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


class DatasetExportApi(APIView):
    """Staff only: the labelled dataset as a streamed zip."""

    permission_classes = [IsAdminUser]

    def get(self, request):
        payload = ExportInput(data=request.query_params)
        payload.is_valid(raise_exception=True)
        options = payload.validated_data
        images = export_queryset(
            split=options["split"], min_votes=options.get("min_votes"), balanced=options["balanced"]
        )
        return zip_response(images, balanced=options["balanced"], min_votes=options.get("min_votes"))
