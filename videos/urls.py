from django.urls import path

from videos import apis, views

app_name = "videos"

urlpatterns = [
    path("video/", views.video_page, name="page"),
    path("video/<uuid:video_id>/", views.video_page, name="page-detail"),
    path("api/videos/", apis.VideoCreateApi.as_view(), name="api-create"),
    path("api/videos/<uuid:video_id>/", apis.VideoDetailApi.as_view(), name="api-detail"),
    path("api/videos/<uuid:video_id>/share-frames/", apis.VideoShareFramesApi.as_view(), name="api-share-frames"),
    # The clip, for its uploader alone; a key frame's picture or heatmap: the only ways out of the private storage.
    path("videos/<uuid:video_id>/clip/", views.video_clip, name="clip"),
    path("videos/<uuid:video_id>/key-frames/<int:index>/<str:kind>/", views.video_file, name="file"),
]
