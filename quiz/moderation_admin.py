"""The moderation queue: shared photos waiting for approval (UPLOAD_MODERATION = "pre") or pulled from the
quiz by reports, oldest first, with bulk Approve and Reject… (which asks for the reason on a page of its own).

Keyboard: Tab reaches each row's checkbox (Space ticks it), Alt+Shift+M (the action menu's accesskey; Ctrl+Alt+M
on macOS) jumps to the action menu, Alt+Shift+G to its Go button. Registered from QuizConfig.ready().
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Prefetch
from django.template.response import TemplateResponse
from django.utils.html import format_html, format_html_join

from quiz.errors import QuizError
from quiz.models import Moderation, ModerationItem, Report
from quiz.selectors import images_awaiting_moderation
from quiz.services.moderation import images_moderate

REJECT_TEMPLATE = "admin/quiz/moderationitem/reject.html"


class ModerationActionForm(helpers.ActionForm):
    action = forms.ChoiceField(label="Action:", widget=forms.Select(attrs={"accesskey": "m"}))


@admin.register(ModerationItem)
class ModerationQueueAdmin(admin.ModelAdmin):
    list_display = ["photo", "why", "uploads", "reports"]
    list_display_links = None
    list_per_page = 30
    show_full_result_count = False
    search_fields = ["=id"]
    actions = ["approve", "reject"]
    action_form = ModerationActionForm
    change_list_template = "admin/quiz/moderationitem/change_list.html"

    def get_queryset(self, request):
        open_reports = Report.objects.filter(resolved_at__isnull=True).order_by("created_at")
        queryset = images_awaiting_moderation(super().get_queryset(request))
        return (
            queryset.annotate(upload_count=Count("uploads"))
            .prefetch_related(Prefetch("reports", queryset=open_reports, to_attr="open_reports"))
            .order_by("created_at", "id")
        )

    # The queue decides what enters the public quiz: the same right as changing an image, whatever the proxy's
    # own permissions say.
    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_staff and request.user.has_perm("quiz.change_image")

    has_change_permission = has_view_permission

    def has_module_permission(self, request):
        return self.has_view_permission(request)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def changelist_view(self, request, extra_context=None):
        title = "Moderation queue: new and reported photos, oldest first"
        return super().changelist_view(request, {"title": title, **(extra_context or {})})

    @admin.display(description="Photo")
    def photo(self, obj):
        return format_html(
            '<a href="{}" target="_blank" rel="noopener"><img src="{}" width="{}" height="{}" loading="lazy" '
            'alt="Photo {} to moderate" style="width:280px;min-width:200px;height:auto;border-radius:6px"></a>',
            obj.file.url,
            obj.display_url,
            obj.display_width,
            obj.display_height,
            obj.pk,
        )

    @admin.display(description="Why here", ordering="created_at")
    def why(self, obj):
        reasons = []
        if obj.moderation == Moderation.PENDING:
            reasons.append("new, waiting for approval")
        if obj.hidden_by_reports:
            reasons.append("hidden by reports")
        since = obj.created_at.strftime("%Y-%m-%d %H:%M")
        return format_html("{}<br><small>since {}</small>", ", ".join(reasons), since)

    @admin.display(description="Uploads", ordering="upload_count")
    def uploads(self, obj):
        return obj.upload_count

    @admin.display(description="Reports", ordering="report_count")
    def reports(self, obj):
        if not obj.open_reports:
            return "none"
        items = format_html_join("", "<li>{}</li>", ((report.get_reason_display(),) for report in obj.open_reports))
        return format_html("<b>{}</b><ul>{}</ul>", len(obj.open_reports), items)

    @admin.action(description="Approve: show in the quiz", permissions=["change"])
    def approve(self, request, queryset):
        images = images_moderate(image_ids=_ids(queryset), approve=True, by=request.user)
        self._log(request, images, "Approved")
        self.message_user(request, f"Approved {len(images)} photo(s): they are in the quiz now.", messages.SUCCESS)

    @admin.action(description="Reject… (asks for a reason)", permissions=["change"])
    def reject(self, request, queryset):
        # The first submit comes from the queue: ask for the reason. The second, from that page, decides.
        if request.POST.get("post") != "yes":
            return self._reject_page(request, queryset, error="")
        try:
            images = images_moderate(
                image_ids=_ids(queryset), approve=False, reason=request.POST.get("reason", ""), by=request.user
            )
        except QuizError as error:
            return self._reject_page(request, queryset, error=error.message)
        self._log(request, images, f"Rejected: {images[0].moderation_reason}" if images else "Rejected")
        self.message_user(request, f"Rejected {len(images)} photo(s).", messages.SUCCESS)
        return None

    def _reject_page(self, request, queryset, *, error: str):
        if not self.has_change_permission(request):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "title": "Reject photos",
            "opts": self.model._meta,
            "images": list(queryset),
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "select_across": request.POST.get("select_across", "0"),
            "reason": request.POST.get("reason", ""),
            "error": error,
        }
        return TemplateResponse(request, REJECT_TEMPLATE, context, status=400 if error else 200)

    def _log(self, request, images, message: str) -> None:
        for image in images:
            self.log_change(request, image, message)


def _ids(queryset) -> list[int]:
    return list(queryset.values_list("id", flat=True))
