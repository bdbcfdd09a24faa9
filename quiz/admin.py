from __future__ import annotations

from django.contrib import admin, messages
from django.core.paginator import Paginator
from django.db import connection
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.html import format_html

from quiz.models import CrowdAggregation, Image, Label, Report, Vote, Voter
from quiz.selectors import images_controversial
from quiz.services.images import image_delete, image_set_expert_label


class LabelledFilter(admin.SimpleListFilter):
    title = "labelled"
    parameter_name = "labelled"

    def lookups(self, request, model_admin):
        return [("yes", "Labelled"), ("no", "Unlabelled")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(effective_label__isnull=False)
        if self.value() == "no":
            return queryset.filter(effective_label__isnull=True)
        return queryset


class ControversialFilter(admin.SimpleListFilter):
    title = "controversial"
    parameter_name = "controversial"

    def lookups(self, request, model_admin):
        return [("yes", "Controversial (40–60%)")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return images_controversial(queryset)
        return queryset


class ReportInline(admin.TabularInline):
    """Volunteers' reports on the image: read-only, staff decide in the moderation queue."""

    model = Report
    fields = ["reason", "voter", "created_at", "resolved_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ["-created_at"]

    def has_add_permission(self, request, obj=None):
        return False


class NearDuplicateFilter(admin.SimpleListFilter):
    title = "near-duplicate of validation"
    parameter_name = "near_duplicate"

    def lookups(self, request, model_admin):
        return [("yes", "Near-duplicate of a validation image"), ("no", "No")]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(near_duplicate_of__isnull=self.value() == "no")
        return queryset


# An unshared upload is its uploader's alone: staff see that it exists, not what it shows.
UNSHARED = "private (not shared by its uploader)"


@admin.register(Image)
class ImageAdmin(admin.ModelAdmin):
    list_display = [
        "photo",
        "id",
        "split",
        "source",
        "effective_label",
        "label_source",
        "imported_label",
        "crowd_label",
        "crowd_confidence",
        "expert_label",
        "votes_yes",
        "votes_no",
        "agreement_display",
        "near_duplicate",
    ]
    list_filter = [
        "split",
        LabelledFilter,
        ControversialFilter,
        "effective_label",
        "label_source",
        "expert_label",
        "source",
        "excluded",
        "moderation",
        "hidden_by_reports",
        NearDuplicateFilter,
    ]
    search_fields = ["=id", "=sha256", "original_name"]
    readonly_fields = [
        "preview",
        "sha256",
        "width",
        "height",
        "thumbnail",
        "thumbnail_width",
        "thumbnail_height",
        "votes_yes",
        "votes_no",
        "vote_count",
        "crowd_label",
        "crowd_confidence",
        "effective_label",
        "label_source",
        "labelled_at",
        "created_at",
        "random_key",
        "model_probability",
        "model_margin",
        "model_version",
        "phash",
        "near_duplicate_of",
    ]
    fields = (
        ["preview", "file", "split", "source", "original_name", "imported_label", "expert_label", "expert_note"]
        + [f for f in readonly_fields if f != "preview"]
        + ["excluded", "excluded_reason"]
    )
    actions = ["mark_corrosion", "mark_no_corrosion"]
    show_full_result_count = False

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        if obj is not None and not obj.shared:
            # The file widgets link the files themselves.
            return [field for field in fields if field not in ("file", "thumbnail")]
        return fields

    list_per_page = 50
    inlines = [ReportInline]

    @admin.display(description="Photo")
    def photo(self, obj: Image):
        if not obj.shared:
            return UNSHARED
        return format_html(
            '<img src="{}" width="{}" height="{}" loading="lazy" alt="" '
            'style="max-height:80px;max-width:120px;width:auto;height:auto">',
            obj.display_url,
            obj.display_width,
            obj.display_height,
        )

    @admin.display(description="Photo")
    def preview(self, obj: Image):
        if not obj.shared:
            return UNSHARED
        return format_html(
            '<a href="{}" target="_blank" rel="noopener"><img src="{}" width="{}" height="{}" alt="" '
            'style="max-width:480px;height:auto"></a>',
            obj.file.url,
            obj.display_url,
            obj.display_width,
            obj.display_height,
        )

    @admin.display(description="Near-duplicate of validation")
    def near_duplicate(self, obj: Image):
        if obj.near_duplicate_of_id is None:
            return "—"
        url = reverse("admin:quiz_image_change", args=[obj.near_duplicate_of_id])
        return format_html('<a href="{}">validation #{}</a>', url, obj.near_duplicate_of_id)

    @admin.display(description="Agreement")
    def agreement_display(self, obj: Image):
        return "—" if obj.agreement is None else f"{obj.agreement:.0%}"

    def save_model(self, request, obj, form, change):
        obj.refresh_effective_label()
        super().save_model(request, obj, form, change)

    def get_deleted_objects(self, objs, request):
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        # Nobody deletes a vote alone (no permission to); with its image it goes through image_delete.
        return deleted, counts, perms_needed - {Vote._meta.verbose_name}, protected

    # Through the service: the votes' counters and tallies are taken back; the files go once it commits.
    def delete_model(self, request, obj: Image):
        image_delete(image_id=obj.pk)

    def delete_queryset(self, request, queryset):
        for image_id in queryset.values_list("pk", flat=True):
            image_delete(image_id=image_id)

    def _set_expert_label(self, request, queryset, label: str):
        ids = list(queryset.values_list("id", flat=True))
        for image_id in ids:
            image_set_expert_label(image_id=image_id, label=label)
        self.message_user(request, f"Expert label set on {len(ids)} image(s).", messages.SUCCESS)

    @admin.action(description="Expert label: corrosion", permissions=["change"])
    def mark_corrosion(self, request, queryset):
        self._set_expert_label(request, queryset, Label.CORROSION)

    @admin.action(description="Expert label: no corrosion", permissions=["change"])
    def mark_no_corrosion(self, request, queryset):
        self._set_expert_label(request, queryset, Label.NO_CORROSION)


class EstimatedCountPaginator(Paginator):
    """Counting millions of votes on every page view is slow; PostgreSQL's estimate is enough to page."""

    @cached_property
    def count(self):
        query = self.object_list.query
        if connection.vendor == "postgresql" and not query.where:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT reltuples::bigint FROM pg_class WHERE relname = %s", [query.model._meta.db_table]
                )
                row = cursor.fetchone()
            if row and row[0] > 10_000:
                return int(row[0])
        return super().count


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Vote)
class VoteAdmin(ReadOnlyAdmin):
    list_display = ["id", "image_id", "voter", "corrosion", "expertise", "wording", "created_at"]
    list_select_related = ["voter"]
    # The question each vote answered: filter by it to compare the two wordings (QUIZ_WORDING).
    list_filter = ["corrosion", "expertise", "wording"]
    raw_id_fields = ["voter", "image"]
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    ordering = ["-id"]
    search_fields = ["=image__id"]


@admin.register(Voter)
class VoterAdmin(ReadOnlyAdmin):
    list_display = ["id", "key", "expertise", "votes_cast", "sensitivity", "specificity", "created_at", "last_seen_at"]
    list_filter = ["expertise"]
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    ordering = ["-id"]
    search_fields = ["=key"]


@admin.register(CrowdAggregation)
class CrowdAggregationAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "created_at",
        "votes",
        "voters",
        "gold_images",
        "class_prior",
        "iterations",
        "voters_updated",
        "images_relabelled",
        "seconds",
    ]
    ordering = ["-id"]


class ResolvedFilter(admin.SimpleListFilter):
    title = "resolved"
    parameter_name = "resolved"

    def lookups(self, request, model_admin):
        return [("no", "Open"), ("yes", "Resolved by staff")]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(resolved_at__isnull=self.value() == "no")
        return queryset


@admin.register(Report)
class ReportAdmin(ReadOnlyAdmin):
    list_display = ["id", "image_id", "reason", "voter", "created_at", "resolved_at"]
    list_select_related = ["voter"]
    list_filter = ["reason", ResolvedFilter]
    raw_id_fields = ["voter", "image"]
    show_full_result_count = False
    ordering = ["-id"]
    search_fields = ["=image__id"]
