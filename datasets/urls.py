from django.urls import path

from datasets import apis

app_name = "datasets"

urlpatterns = [
    path("api/dataset/export/", apis.DatasetExportApi.as_view(), name="api-dataset-export"),
]
