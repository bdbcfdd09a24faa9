from django.contrib import admin
from django.utils.html import format_html

from corrosiondetector.media import is_unshared
from uploads.models import Upload
from uploads.services import upload_remove


@admin.register(Upload)
class UploadAdmin(admin.ModelAdmin):
    list_display = [
        "thumbnail",
        "id",
        "status",
        "label",
        "probability",
        "model_version",
        "corrected_label",
        "shared",
        "created_at",
    ]
    list_filter = ["status", "label", "corrected_label", "shared"]
    list_select_related = ["image", "model_version"]
    raw_id_fields = ["image", "model_version"]
    show_full_result_count = False
    readonly_fields = [f.name for f in Upload._meta.fields] + ["heatmap_preview"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    # Through the services: votes and counters are taken back, and files go once the deletion commits.
    def delete_model(self, request, obj: Upload):
        upload_remove(upload_id=obj.pk)

    def delete_queryset(self, request, queryset):
        for upload_id in queryset.values_list("pk", flat=True):
            upload_remove(upload_id=upload_id)

    @admin.display(description="Photo")
    def thumbnail(self, obj: Upload):
        image = obj.image
        if is_unshared(image.thumbnail.name or image.file.name):
            return "private"
        return format_html(
            '<img src="{}" width="{}" height="{}" loading="lazy" alt="" '
            'style="max-height:80px;max-width:120px;width:auto;height:auto">',
            image.display_url,
            image.display_width,
            image.display_height,
        )

    @admin.display(description="Heatmap")
    def heatmap_preview(self, obj: Upload):
        if not obj.heatmap:
            return "—"
        if is_unshared(obj.heatmap.name):
            return "private"
        return format_html('<img src="{}" alt="" style="max-width:480px">', obj.heatmap.url)
