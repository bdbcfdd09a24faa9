"""Where a heatmap says the corrosion is, in words a screen reader can say: a 3×3 region of the photo.

Pure numpy (no Django, no torch): the inference worker computes it once per upload, and the pages and the
API turn the region code into a sentence (modelzoo.card.heatmap_description).
"""

from __future__ import annotations

import numpy as np

ROWS = ("upper", "middle", "lower")
COLUMNS = ("left", "centre", "right")
CENTRE = "centre"  # the middle row's centre column
SPREAD = "spread"
# Only the hot part of the map counts: pixels at least this share of the peak. The rest is the faint glow a
# class activation map has everywhere, which would pull every centre of mass towards the middle.
HOT_SHARE = 0.5
# Root-mean-square distance of the hot part from its centre, in photo sides, above which it is not one place
# but "spread across the photo" (a blob of radius r has r/√2; an even map 0.41; a full-width band 0.30).
SPREAD_LIMIT = 0.25


def region_code(row: int, column: int) -> str:
    return CENTRE if (row, column) == (1, 1) else f"{ROWS[row]}_{COLUMNS[column]}"


REGIONS = tuple(region_code(row, column) for row in range(3) for column in range(3))


def heatmap_region(heat: np.ndarray) -> str:
    """The region of a photo-aligned heatmap (rows = the photo's rows) holding the evidence.

    One of REGIONS ("upper_left", …, "centre", …, "lower_right"), SPREAD when the hot part is not in one
    place, or "" when the map is empty (nothing to say).
    """
    heat = np.nan_to_num(np.asarray(heat, dtype=np.float64), nan=0.0)
    if heat.ndim != 2 or heat.size == 0:
        return ""
    peak = float(heat.max())
    if peak <= 1e-6:
        return ""
    weights = np.where(heat >= HOT_SHARE * peak, heat, 0.0)
    total = float(weights.sum())
    height, width = heat.shape
    ys = (np.arange(height) + 0.5) / height  # pixel centres, 0..1 down the photo
    xs = (np.arange(width) + 0.5) / width
    by_row, by_column = weights.sum(axis=1), weights.sum(axis=0)
    cy, cx = float(by_row @ ys) / total, float(by_column @ xs) / total
    spread = np.sqrt((float(by_row @ (ys - cy) ** 2) + float(by_column @ (xs - cx) ** 2)) / total)
    if spread > SPREAD_LIMIT:
        return SPREAD
    return region_code(min(int(cy * 3), 2), min(int(cx * 3), 2))
