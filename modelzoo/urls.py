from django.urls import path

from modelzoo import apis

app_name = "modelzoo"

urlpatterns = [
    path("api/models/", apis.ModelVersionListApi.as_view(), name="api-versions"),
    path("api/models/retrain/", apis.RetrainApi.as_view(), name="api-retrain"),
]
