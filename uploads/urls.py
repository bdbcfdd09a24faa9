from django.urls import path

from uploads import apis, views

app_name = "uploads"

urlpatterns = [
    path("upload/", views.upload_page, name="page"),
    path("upload/<uuid:upload_id>/", views.upload_result_page, name="result"),
    path("upload/<uuid:upload_id>/correction/", views.upload_correct_page, name="correct"),
    path("upload/<uuid:upload_id>/share/", views.upload_share_page, name="share"),
    path("upload/<uuid:upload_id>/delete/", views.upload_delete_page, name="delete"),
    path("uploads/mine/", views.uploads_mine_page, name="mine"),
    # An upload's photo, thumbnail or heatmap for its uploader (an unshared one's only way out).
    path("uploads/<uuid:upload_id>/<str:kind>/", views.upload_file, name="file"),
    path("api/uploads/", apis.UploadCreateApi.as_view(), name="api-create"),
    path("api/uploads/<uuid:upload_id>/", apis.UploadDetailApi.as_view(), name="api-detail"),
    path("api/uploads/<uuid:upload_id>/correction/", apis.UploadCorrectionApi.as_view(), name="api-correction"),
    path("api/uploads/<uuid:upload_id>/share/", apis.UploadShareApi.as_view(), name="api-share"),
]
