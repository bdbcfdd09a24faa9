"""Image admin action: the selected photos as a dataset zip download."""

from __future__ import annotations

from django.contrib import admin, messages

from quiz.dataset_export import dataset_export_select
from quiz.export_apis import dataset_zip_response


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
