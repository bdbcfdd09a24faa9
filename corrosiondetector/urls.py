from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.static import serve
from drf_spectacular.views import SpectacularAPIView

from corrosiondetector.views import healthz, metrics

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics, name="metrics"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # POST /i18n/setlang/ (name "set_language"): the language switcher in templates/base.html.
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("quiz.urls")),
    path("", include("modelzoo.urls")),
    path("", include("uploads.urls")),
    path("", include("videos.urls")),
    path("", include("dashboard.urls")),
    path("", include("datasets.urls")),
]

if settings.DEBUG:
    # Only what the proxy serves (deploy/Caddyfile): never model files or a photo its uploader did not share.
    urlpatterns += [
        re_path(
            r"^media/(?P<path>(images|thumbnails|heatmaps)/.*)$",
            serve,
            {"document_root": settings.MEDIA_ROOT},
        )
    ]
