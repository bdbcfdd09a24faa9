"""The model card's fixed words: what the model cannot do, and what it is for.

The limitations are the paper's own findings (its failure cases) and the general one of any classifier:
photos unlike those it learned from.
"""

from django.utils.translation import gettext_lazy as _

LIMITATIONS = (
    _("Red or brown paint can look like rust to the model."),
    _("Weathering steel is meant to carry a rust-coloured patina; the model may call it corrosion."),
    _("Mill scale on fresh reinforcing bar (rebar) can be taken for corrosion."),
    _("Wood and brick, with their reddish-brown colours, can be mistaken for rusted steel."),
    _(
        "Photos far from those it learned from (other materials, night shots, microscope or thermal images, "
        "heavy filters) get less reliable verdicts, and the probability does not warn you."
    ),
)

DISCLAIMER = _("A screening aid, not a substitute for an inspection.")

# Where the heatmap puts the corrosion (modelzoo.ml.heatmap_text's region codes), as a sentence.
_REGION_WORDS = {
    "upper_left": _("Corrosion most likely in the upper left of the photo."),
    "upper_centre": _("Corrosion most likely in the upper middle of the photo."),
    "upper_right": _("Corrosion most likely in the upper right of the photo."),
    "middle_left": _("Corrosion most likely on the left of the photo, halfway down."),
    "centre": _("Corrosion most likely in the centre of the photo."),
    "middle_right": _("Corrosion most likely on the right of the photo, halfway down."),
    "lower_left": _("Corrosion most likely in the lower left of the photo."),
    "lower_centre": _("Corrosion most likely in the lower middle of the photo."),
    "lower_right": _("Corrosion most likely in the lower right of the photo."),
    "spread": _("Signs of corrosion spread across the photo."),
}


def heatmap_description(region: str) -> str:
    """The sentence for a heatmap's region code; "" when there is none (no corrosion, or an older upload)."""
    text = _REGION_WORDS.get(region)
    return str(text) if text is not None else ""
