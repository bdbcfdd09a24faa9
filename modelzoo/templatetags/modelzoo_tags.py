"""Template helpers of the model zoo's public pages, and the quiz page's community strip.

The strip is a template tag because the quiz page is quiz's view, and quiz may not import modelzoo
(docs/architecture.md): the project's template composes the two apps instead.
"""

from __future__ import annotations

from django import template
from django.template.defaultfilters import floatformat

from modelzoo.selectors import community_figures

register = template.Library()


@register.filter
def percent(value, digits: int = 1) -> str:
    """0.9123 -> "91.2 %" (digits after the point); "—" for no value."""
    if value is None or value == "":
        return "—"
    return f"{floatformat(float(value) * 100, digits)} %"


@register.inclusion_tag("modelzoo/_community_strip.html")
def community_strip() -> dict:
    """Votes this week, labels until the next retrain, progress to the next accuracy milestone (cached)."""
    return {"figures": community_figures()}
