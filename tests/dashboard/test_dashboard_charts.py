"""The dashboard's SVG charts carry values on both axes: round ticks from the data, units, dates."""

import datetime
import re

import pytest

from dashboard import charts

UTC = datetime.UTC


def tick_texts(svg: str, axis: str) -> list[str]:
    return re.findall(rf'<text [^>]*class="tick {axis}-tick"[^>]*>([^<]*)</text>', svg)


def tick_positions(svg: str, axis: str) -> list[float]:
    attribute = "x" if axis == "x" else "y"
    return [float(v) for v in re.findall(rf'<text {attribute}="([\d.]+)"[^>]*class="tick {axis}-tick"', svg)]


def axis_titles(svg: str) -> list[str]:
    return re.findall(r'<text [^>]*class="axis-title"[^>]*>([^<]*)</text>', svg)


def test_it_writes_dates_and_counts_on_the_axes_of_a_daily_chart():
    days = [datetime.date(2026, 3, 1), datetime.date(2026, 3, 3), datetime.date(2026, 3, 5)]
    svg = charts.line_chart(
        [(day.toordinal(), total, f"{day}: {total}") for day, total in zip(days, (2, 5, 9))],
        x_label="day (UTC)",
        y_label="uploads (cumulative count)",
        title="Cumulative uploads per day",
        x_format="day",
        y_format="count",
    )
    assert tick_texts(svg, "x") == ["2026-03-01", "2026-03-02", "2026-03-03", "2026-03-04", "2026-03-05"]
    assert tick_texts(svg, "y") == ["0", "3", "6", "9"]  # from zero, whole steps, up to the largest total
    assert axis_titles(svg) == ["day (UTC)", "uploads (cumulative count)"]
    assert 'aria-label="Cumulative uploads per day (uploads (cumulative count) against day (UTC))"' in svg


def test_it_places_the_ticks_in_order_inside_the_plot():
    svg = charts.line_chart([(0, 0, ""), (2539, 1, "")], x_label="votes", y_label="n", title="t", x_format="count")
    assert tick_texts(svg, "x") == ["0", "1,000", "2,000", "3,000"]
    xs, ys = tick_positions(svg, "x"), tick_positions(svg, "y")
    assert xs == sorted(xs) and xs[0] == charts.LEFT and xs[-1] == charts.W - charts.RIGHT
    assert ys == sorted(ys, reverse=True)  # SVG's y grows downwards: the lowest value at the bottom
    assert all(charts.TOP <= y <= charts.H - charts.BOTTOM + 4 for y in ys)


def test_it_writes_accuracy_as_percentages_around_the_data_and_dates_of_training():
    trained = [datetime.datetime(2026, 3, d, 9, tzinfo=UTC) for d in (1, 9, 20)]
    svg = charts.line_chart(
        [(t.timestamp(), accuracy, "") for t, accuracy in zip(trained, (0.66, 0.80, 0.90))],
        x_label="date trained (UTC)",
        y_label="validation accuracy (%)",
        title="Validation accuracy per model version over time",
        x_format="time",
        y_format="percent",
        y_from_zero=False,
    )
    assert tick_texts(svg, "y") == ["60%", "70%", "80%", "90%"]
    dates = tick_texts(svg, "x")
    assert dates[0] <= "2026-03-01" and dates[-1] >= "2026-03-20"
    assert all(re.fullmatch(r"2026-0[2-4]-\d\d", d) for d in dates)


def test_it_writes_hours_when_the_versions_were_trained_on_one_day():
    trained = [datetime.datetime(2026, 3, 1, h, tzinfo=UTC).timestamp() for h in (10, 15)]
    svg = charts.line_chart(
        [(t, 0.8, "") for t in trained], x_label="trained", y_label="accuracy", title="t", x_format="time"
    )
    assert tick_texts(svg, "x") == ["03-01 10:00", "03-01 12:00", "03-01 14:00", "03-01 16:00"]


def test_it_gives_one_point_a_range_around_it():
    svg = charts.line_chart([(5, 0.5, "")], x_label="x", y_label="y", title="t", y_format="percent", y_from_zero=False)
    assert tick_texts(svg, "x") == ["4", "4.5", "5", "5.5", "6"]
    assert tick_texts(svg, "y") == ["45.0%", "47.5%", "50.0%", "52.5%", "55.0%"]


def test_it_labels_the_categories_and_the_counts_of_a_bar_chart():
    svg = charts.bar_chart(
        [("50–60%", 0), ("60–70%", 12), ("90–100%", 47)],
        title="Agreement distribution",
        x_label="share of votes for the majority label (%)",
        y_label="images (count)",
        y_format="count",
    )
    assert tick_texts(svg, "x") == ["50–60%", "60–70%", "90–100%"]
    assert tick_texts(svg, "y") == ["0", "20", "40", "60"]
    assert axis_titles(svg) == ["share of votes for the majority label (%)", "images (count)"]
    heights = [float(h) for h in re.findall(r'<rect [^>]*height="([\d.]+)"', svg)]
    assert heights[0] == 0 and heights[2] / heights[1] == pytest.approx(47 / 12, rel=1e-3)


def test_it_says_when_there_is_nothing_to_draw():
    assert "No data yet" in charts.line_chart([], x_label="x", y_label="y", title="Votes")
    assert "No data yet" in charts.bar_chart([], title="Votes")
    with pytest.raises(ValueError):
        charts.line_chart([(1, 1, "")], x_label="x", y_label="y", title="t", x_format="weeks")
