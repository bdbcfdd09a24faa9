"""Image admin action: the selected photos as a dataset zip download.

The action joins quiz's image admin from here, so that quiz need not know the export exists
(datasets depends on quiz, never the reverse).
"""

from __future__ import annotations

from django.contrib import admin, messages

from datasets.apis import dataset_zip_response
from datasets.selectors import dataset_export_select
from quiz.admin import ImageAdmin
from quiz.models import Image


@admin.action(description="Export selected images as a dataset zip", permissions=["view"])
def export_selected_images(modeladmin, request, queryset):
    # The same rules as every export: unlabelled and excluded photos in the selection stay behind.
    selection = dataset_export_select(base=queryset)
    if not selection:
        modeladmin.message_user(
            request,
            "Nothing to export: only labelled images that are not excluded can leave.",
            messages.WARNING,
        )
        return None
    return dataset_zip_response(selection)


class ImageExportAdmin(ImageAdmin):
    actions = [*ImageAdmin.actions, export_selected_images]


admin.site.unregister(Image)
admin.site.register(Image, ImageExportAdmin)
