"""The review queue: controversial images with their votes split by expertise, one click from a verdict.

Registered from QuizConfig.ready() so it lives apart from the plain image admin.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils.html import format_html

from quiz.models import Expertise, Label, ReviewItem
from quiz.selectors import images_controversial
from quiz.services.images import image_exclude, image_set_expert_label

EXPERTISE_LEVELS = [(level.value, Expertise.name_of(level)) for level in Expertise if level != Expertise.UNKNOWN]


def with_expertise_split(queryset):
    counts = {}
    for value, name in EXPERTISE_LEVELS:
        counts[f"yes_{name}"] = Count("votes", filter=Q(votes__expertise=value, votes__corrosion=True))
        counts[f"no_{name}"] = Count("votes", filter=Q(votes__expertise=value, votes__corrosion=False))
    return queryset.annotate(**counts)


SUSPECT = "suspect"


class QueueFilter(admin.SimpleListFilter):
    """Which queue: the crowd's disagreements (the default) or the labels confident learning suspects."""

    title = "queue"
    parameter_name = "queue"

    def lookups(self, request, model_admin):
        return [(SUSPECT, "Suspect labels (confident learning)")]

    def choices(self, changelist):
        # No "All": the unfiltered queue is the disagreements.
        yield {
            "selected": self.value() != SUSPECT,
            "query_string": changelist.get_query_string(remove=[self.parameter_name]),
            "display": "Disagreements (40–60%)",
        }
        yield {
            "selected": self.value() == SUSPECT,
            "query_string": changelist.get_query_string({self.parameter_name: SUSPECT}),
            "display": "Suspect labels (confident learning)",
        }

    def queryset(self, request, queryset):
        if self.value() == SUSPECT:
            return queryset.filter(label_suspect_score__isnull=False).order_by("-label_suspect_score", "id")
        return images_controversial(queryset).order_by("-vote_count", "id")


@admin.register(ReviewItem)
class ReviewQueueAdmin(admin.ModelAdmin):
    list_display = ["photo", "votes", "expertise_split", "labels", "suspect", "decide"]
    list_display_links = None
    list_filter = [QueueFilter]
    list_per_page = 20
    show_full_result_count = False
    search_fields = ["=id"]
    actions = None

    def get_queryset(self, request):
        # QueueFilter narrows this to one queue; an expert label takes an image out of both.
        queryset = super().get_queryset(request).filter(excluded=False, expert_label__isnull=True)
        return with_expertise_split(queryset)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        if request.GET.get(QueueFilter.parameter_name) == SUSPECT:
            title = "Review queue: suspect labels (the model, trained without them, disagrees), most doubted first"
        else:
            title = "Review queue: photos the crowd disagrees on (40–60%), most voted first"
        return super().changelist_view(request, {"title": title, **(extra_context or {})})

    def get_urls(self):
        decide = self.admin_site.admin_view(self.decide_view)
        return [
            path("<int:image_id>/decide/", decide, name="quiz_reviewitem_decide"),
        ] + super().get_urls()

    @admin.display(description="Photo")
    def photo(self, obj):
        # The thumbnail in the list; the full photo one click away.
        return format_html(
            '<a href="{}" target="_blank" rel="noopener"><img src="{}" width="{}" height="{}" loading="lazy" '
            'alt="Photo {} under review" style="width:320px;min-width:280px;height:auto;border-radius:6px"></a>',
            obj.file.url,
            obj.display_url,
            obj.display_width,
            obj.display_height,
            obj.pk,
        )

    @admin.display(description="Votes", ordering="vote_count")
    def votes(self, obj):
        if not obj.vote_count:
            return "no votes yet"  # a suspect imported label may have none
        return format_html(
            "<b>{}</b> corrosion / <b>{}</b> no corrosion<br>{} votes, {} agreement",
            obj.votes_yes,
            obj.votes_no,
            obj.vote_count,
            f"{obj.agreement:.0%}",
        )

    @admin.display(description="By expertise (corrosion / no)")
    def expertise_split(self, obj):
        rows = [(name, getattr(obj, f"yes_{name}"), getattr(obj, f"no_{name}")) for _, name in EXPERTISE_LEVELS]
        unknown_yes = obj.votes_yes - sum(r[1] for r in rows)
        unknown_no = obj.votes_no - sum(r[2] for r in rows)
        rows.append((Expertise.name_of(Expertise.UNKNOWN), unknown_yes, unknown_no))
        return format_html(
            "<table>{}</table>",
            format_html(
                "".join("<tr><td>{}</td><td>{} / {}</td></tr>" for _ in rows), *[v for row in rows for v in row]
            ),
        )

    @admin.display(description="Labels")
    def labels(self, obj):
        return format_html(
            "crowd: {}<br>imported: {}<br>split: {}",
            obj.crowd_label or "undecided",
            obj.imported_label or "—",
            obj.split,
        )

    @admin.display(description="Suspect label", ordering="label_suspect_score")
    def suspect(self, obj):
        if obj.label_suspect_score is None:
            return "—"
        return format_html(
            "<b>{}</b> likely wrong<br>label: {}<br>since {}",
            f"{obj.label_suspect_score:.0%}",
            (obj.effective_label or "none").replace("_", " "),
            obj.label_suspected_at.date().isoformat() if obj.label_suspected_at else "?",
        )

    @admin.display(description="Decide")
    def decide(self, obj):
        url = reverse("admin:quiz_reviewitem_decide", args=[obj.pk])
        # Buttons submit the changelist form (which carries the CSRF token) to this image's decide URL.
        return format_html(
            '<button type="submit" formaction="{url}" name="decision" value="corrosion">Corrosion</button> '
            '<button type="submit" formaction="{url}" name="decision" value="no_corrosion">No corrosion</button>'
            '<br><input type="text" name="reason-{pk}" placeholder="why exclude?" maxlength="255" '
            'aria-label="Reason to exclude photo {pk}"> '
            '<button type="submit" formaction="{url}" name="decision" value="exclude">Exclude</button>',
            url=url,
            pk=obj.pk,
        )

    def decide_view(self, request, image_id: int):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        return _decide(self, request, image_id)


def _decide(model_admin: ReviewQueueAdmin, request, image_id: int):
    if not request.user.has_perm("quiz.change_image"):
        raise PermissionDenied
    item = get_object_or_404(ReviewItem, pk=image_id)
    decision = request.POST.get("decision")
    back = redirect("admin:quiz_reviewitem_changelist")
    if decision in (Label.CORROSION, Label.NO_CORROSION):
        image_set_expert_label(image_id=item.pk, label=decision)
        model_admin.message_user(request, f"Photo {item.pk}: expert label set to {decision.replace('_', ' ')}.")
    elif decision == "exclude":
        reason = request.POST.get(f"reason-{item.pk}", "")
        try:
            image_exclude(image_id=item.pk, reason=reason)
        except ValueError:
            model_admin.message_user(request, "Write a reason before excluding a photo.", messages.ERROR)
            return back
        model_admin.message_user(request, f"Photo {item.pk} excluded: {reason.strip()}")
    else:
        model_admin.message_user(request, "Unknown decision.", messages.ERROR)
    return back
