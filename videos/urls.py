from django.urls import path

from videos import apis, views

app_name = "videos"

urlpatterns = [
    path("api/videos/", apis.VideoCreateApi.as_view(), name="api-create"),
    path("api/videos/<uuid:video_id>/", apis.VideoDetailApi.as_view(), name="api-detail"),
    # A key frame's picture or heatmap: the only way out of the private storage.
    path("videos/<uuid:video_id>/key-frames/<int:index>/<str:kind>/", views.video_file, name="file"),
]
