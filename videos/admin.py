from django.contrib import admin

from videos.models import Video
from videos.services import video_remove


@admin.register(Video)
class VideoAdmin(admin.ModelAdmin):
    """Read-only: a video's files are its uploader's; staff may only see its state and delete it."""

    list_display = [
        "id",
        "status",
        "shared",
        "duration_s",
        "progress_done",
        "progress_total",
        "model_version",
        "created_at",
    ]
    list_filter = ["status", "shared"]
    list_select_related = ["model_version"]
    show_full_result_count = False
    # The timeline and key frames stay out of the page: they can be long, and the pictures are private.
    fields = [
        "id",
        "status",
        "failure_reason",
        "shared",
        "size",
        "container",
        "codec",
        "duration_s",
        "every_s",
        "progress_done",
        "progress_total",
        "attempts",
        "model_version",
        "created_at",
        "finished_at",
    ]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    # Through the service: the clip and key frames go once the deletion commits.
    def delete_model(self, request, obj: Video):
        video_remove(video_id=obj.pk)

    def delete_queryset(self, request, queryset):
        for video_id in queryset.values_list("pk", flat=True):
            video_remove(video_id=video_id)
