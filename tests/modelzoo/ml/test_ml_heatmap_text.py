"""The heatmap in words: which of nine regions of the photo holds the evidence, or that it is spread out."""

import numpy as np
import pytest

from modelzoo.card import heatmap_description
from modelzoo.ml.heatmap_text import CENTRE, REGIONS, SPREAD, heatmap_region


def blob(row: float, column: float, *, radius: float = 0.08, shape=(90, 120)) -> np.ndarray:
    """A photo-aligned map (height, width) with one round hot spot centred at (row, column), in photo sides."""
    height, width = shape
    ys, xs = np.mgrid[0:height, 0:width]
    distance = np.hypot((ys + 0.5) / height - row, (xs + 0.5) / width - column)
    return np.clip(1 - distance / radius, 0, 1).astype(np.float32)


@pytest.mark.parametrize(
    ("row", "column", "region"),
    [
        (0.15, 0.15, "upper_left"),
        (0.15, 0.5, "upper_centre"),
        (0.12, 0.85, "upper_right"),
        (0.5, 0.15, "middle_left"),
        (0.5, 0.5, CENTRE),
        (0.5, 0.8, "middle_right"),
        (0.85, 0.2, "lower_left"),
        (0.8, 0.5, "lower_centre"),
        (0.9, 0.9, "lower_right"),
    ],
)
def test_it_names_the_region_of_one_hot_spot(row, column, region):
    assert heatmap_region(blob(row, column)) == region


def test_it_reads_rows_as_the_photos_rows_whatever_its_aspect():
    # A portrait photo (tall): a spot a fifth of the way down is in the upper third.
    assert heatmap_region(blob(0.2, 0.8, shape=(160, 90))) == "upper_right"


def test_it_ignores_the_faint_glow_around_the_hot_spot():
    heat = blob(0.15, 0.15) + 0.2  # a class activation map is rarely zero anywhere
    assert heatmap_region(heat) == "upper_left"


def test_it_says_spread_for_two_spots_in_opposite_corners():
    assert heatmap_region(np.maximum(blob(0.15, 0.15), blob(0.85, 0.85))) == SPREAD


def test_it_says_spread_for_an_even_map():
    assert heatmap_region(np.ones((48, 64))) == SPREAD


def test_it_says_spread_for_a_band_across_the_photo():
    heat = np.zeros((90, 120))
    heat[10:25, :] = 1.0
    assert heatmap_region(heat) == SPREAD


def test_it_claims_nothing_for_an_empty_or_broken_map():
    assert heatmap_region(np.zeros((32, 32))) == ""
    assert heatmap_region(np.full((8, 8), np.nan)) == ""
    assert heatmap_region(np.zeros((0, 0))) == ""
    assert heatmap_region(np.ones(10)) == ""


def test_it_has_a_sentence_for_every_region_and_none_for_no_region():
    assert heatmap_description("upper_left") == "Corrosion most likely in the upper left of the photo."
    assert heatmap_description(SPREAD) == "Signs of corrosion spread across the photo."
    assert all(heatmap_description(region) for region in REGIONS)
    assert len({heatmap_description(region) for region in REGIONS}) == 9
    assert heatmap_description("") == ""
