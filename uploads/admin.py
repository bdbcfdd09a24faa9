from django.contrib import admin
from django.utils.html import format_html

from uploads.models import Upload


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
        "created_at",
    ]
    list_filter = ["status", "label", "corrected_label"]
    list_select_related = ["image", "model_version"]
    raw_id_fields = ["image", "model_version"]
    show_full_result_count = False
    readonly_fields = [f.name for f in Upload._meta.fields] + ["heatmap_preview"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="Photo")
    def thumbnail(self, obj: Upload):
        image = obj.image
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
        return format_html('<img src="{}" alt="" style="max-width:480px">', obj.heatmap.url)
