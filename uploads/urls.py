from django.urls import path

from uploads import apis, views

app_name = "uploads"

urlpatterns = [
    path("upload/", views.upload_page, name="page"),
    path("upload/<uuid:upload_id>/", views.upload_result_page, name="result"),
    path("upload/<uuid:upload_id>/correction/", views.upload_correct_page, name="correct"),
    path("api/uploads/", apis.UploadCreateApi.as_view(), name="api-create"),
    path("api/uploads/<uuid:upload_id>/", apis.UploadDetailApi.as_view(), name="api-detail"),
    path("api/uploads/<uuid:upload_id>/correction/", apis.UploadCorrectionApi.as_view(), name="api-correction"),
]
