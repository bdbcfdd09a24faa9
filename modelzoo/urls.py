from django.urls import path

from modelzoo import apis, views

app_name = "modelzoo"

urlpatterns = [
    path("model/", views.model_card_page, name="card"),
    path("me/", views.me_page, name="me"),
    path("api/models/", apis.ModelVersionListApi.as_view(), name="api-versions"),
    path("api/models/active/", apis.ActiveModelApi.as_view(), name="api-active"),
    path("api/models/retrain/", apis.RetrainApi.as_view(), name="api-retrain"),
    # <str:…>: a version that is no number gets the API's JSON 404, not the site's HTML one.
    path("api/models/<str:version>/onnx/", apis.ModelVersionOnnxApi.as_view(), name="api-version-onnx"),
]
