"""Server-side SVG charts: no JavaScript and no CDN; every point has a <title> for its numbers on hover.

Both axes carry ticks at round values (1, 2 or 5 × 10ⁿ; whole days or hours on a time axis) with their
values written out, and a title with the unit. An axis is described by a format:

- "count": whole numbers (uploads, votes), ticks at whole steps; "number": any number;
- "percent": shares 0–1 written as percentages;
- "day": x values are date ordinals (`date.toordinal()`), written as dates;
- "time": x values are POSIX timestamps, written as dates (or date and hour within a few days).
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

W, H = 640, 280
LEFT, RIGHT, TOP, BOTTOM = 70, 40, 12, 52  # room for the y ticks and title, the x ticks (half the last one) and title
TICKS = 5
DAY = 86_400.0
FORMATS = ("count", "number", "percent", "day", "time")


def nice_step(span: float, count: int = TICKS) -> float:
    """A round step (1, 2, 2.5 or 5 × 10ⁿ) that cuts `span` into about `count` - 1 intervals."""
    raw = span / max(count - 1, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= factor * magnitude * (1 + 1e-9):
            return factor * magnitude
    return 10 * magnitude


def ticks(lo: float, hi: float, fmt: str = "number", count: int = TICKS) -> list[float]:
    """Round tick values covering [lo, hi]: the axis then runs from the first tick to the last."""
    if fmt == "time":
        # Whole days, or whole hours when the data spans less than about two days.
        unit = DAY if hi - lo >= 2 * DAY else 3600.0
        return [t * unit for t in ticks(lo / unit, hi / unit, "day", count)]
    if hi <= lo:  # one value: a range around it
        pad = 0.05 if fmt == "percent" else 1.0
        lo, hi = lo - pad, hi + pad
    step = nice_step(hi - lo, count)
    if fmt in ("count", "day"):
        step = float(max(1, math.ceil(step)))  # whole things, whole days
    if fmt == "day":  # from the first day shown, so that it is labelled
        first = math.floor(lo)
        return [first + i * step for i in range(math.ceil((hi - first) / step - 1e-9) + 1)]
    first, last = math.floor(lo / step + 1e-9), math.ceil(hi / step - 1e-9)
    return [round(i * step, 10) for i in range(first, last + 1)]


def tick_text(value: float, fmt: str, step: float = 1.0) -> str:
    if fmt == "percent":
        decimals = 0 if abs(step * 100 - round(step * 100)) < 1e-9 else 1
        return f"{value * 100:.{decimals}f}%"
    if fmt == "day":
        return date.fromordinal(int(round(value))).isoformat()
    if fmt == "time":
        moment = datetime.fromtimestamp(value, tz=UTC)
        return moment.strftime("%Y-%m-%d") if step >= DAY else moment.strftime("%m-%d %H:%M")
    if fmt == "count":
        return f"{int(round(value)):,}"
    return f"{value:,.10g}" if abs(value) >= 1000 else f"{value:.10g}"


class _Axis:
    def __init__(self, values: list[float], fmt: str, lo_px: float, hi_px: float, *, from_zero: bool = False):
        if fmt not in FORMATS:
            raise ValueError(f"unknown axis format {fmt!r}")
        lo, hi = min(values), max(values)
        if from_zero:
            lo = min(lo, 0.0)
        self.fmt = fmt
        self.ticks = ticks(lo, hi, fmt)
        if fmt == "percent":  # a share never leaves 0–100%
            self.ticks = [t for t in self.ticks if -1e-9 <= t <= 1 + 1e-9] or self.ticks
        self.lo, self.hi = self.ticks[0], self.ticks[-1]
        if self.hi == self.lo:
            self.hi = self.lo + 1
        self.lo_px, self.hi_px = lo_px, hi_px
        self.step = self.ticks[1] - self.ticks[0] if len(self.ticks) > 1 else 1.0

    def __call__(self, value: float) -> float:
        return self.lo_px + (value - self.lo) / (self.hi - self.lo) * (self.hi_px - self.lo_px)

    def labels(self) -> list[tuple[float, str]]:
        return [(tick, tick_text(tick, self.fmt, self.step)) for tick in self.ticks]


def _frame(x_ticks: str, y: _Axis, *, x_label: str, y_label: str) -> str:
    """Grid lines and tick labels of the y axis, both axis lines, the x ticks given, and both axis titles."""
    parts = []
    for value, text in y.labels():
        py = y(value)
        parts.append(f'<line x1="{LEFT}" y1="{py:.1f}" x2="{W - RIGHT}" y2="{py:.1f}" class="grid"/>')
        parts.append(
            f'<text x="{LEFT - 6}" y="{py + 4:.1f}" text-anchor="end" class="tick y-tick">{escape(text)}</text>'
        )
    parts.append(f'<line x1="{LEFT}" y1="{H - BOTTOM}" x2="{W - RIGHT}" y2="{H - BOTTOM}" class="axis"/>')
    parts.append(f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{H - BOTTOM}" class="axis"/>')
    parts.append(x_ticks)
    middle_x, middle_y = (LEFT + W - RIGHT) / 2, (TOP + H - BOTTOM) / 2
    parts.append(
        f'<text x="{middle_x:.1f}" y="{H - 8}" text-anchor="middle" class="axis-title">{escape(x_label)}</text>'
    )
    parts.append(
        f'<text x="14" y="{middle_y:.1f}" transform="rotate(-90 14 {middle_y:.1f})" text-anchor="middle" '
        f'class="axis-title">{escape(y_label)}</text>'
    )
    return "".join(parts)


def _svg(title: str, x_label: str, y_label: str, body: str) -> SafeString:
    label = f"{title} ({y_label} against {x_label})"
    return mark_safe(f'<svg viewBox="0 0 {W} {H}" role="img" aria-label="{escape(label)}" class="chart">{body}</svg>')


def _empty(title: str) -> SafeString:
    return mark_safe(f'<p class="empty">No data yet for “{escape(title)}”.</p>')


def line_chart(
    points: list[tuple[float, float, str]],
    *,
    x_label: str,
    y_label: str,
    title: str,
    x_format: str = "number",
    y_format: str = "number",
    y_from_zero: bool = True,
) -> SafeString:
    """points: (x, y, hover text); x may be day ordinals ("day"), timestamps ("time") or numbers."""
    if not points:
        return _empty(title)
    x = _Axis([p[0] for p in points], x_format, LEFT, W - RIGHT)
    y = _Axis([p[1] for p in points], y_format, H - BOTTOM, TOP, from_zero=y_from_zero)
    x_ticks = "".join(
        f'<line x1="{x(value):.1f}" y1="{H - BOTTOM}" x2="{x(value):.1f}" y2="{H - BOTTOM + 5}" class="axis"/>'
        f'<text x="{x(value):.1f}" y="{H - BOTTOM + 18}" text-anchor="middle" class="tick x-tick">{escape(text)}</text>'
        for value, text in x.labels()
    )
    path = " ".join(f"{'M' if i == 0 else 'L'}{x(px):.1f},{y(py):.1f}" for i, (px, py, _) in enumerate(points))
    dots = "".join(
        f'<circle cx="{x(px):.1f}" cy="{y(py):.1f}" r="4"><title>{escape(text)}</title></circle>'
        for px, py, text in points
    )
    body = _frame(x_ticks, y, x_label=x_label, y_label=y_label) + f'<path d="{path}" class="line"/>{dots}'
    return _svg(title, x_label, y_label, body)


def bar_chart(
    bars: list[tuple[str, float]], *, title: str, x_label: str = "", y_label: str = "", y_format: str = "number"
) -> SafeString:
    """One bar per (category, value), from zero; the categories label the x axis."""
    if not bars:
        return _empty(title)
    y = _Axis([v for _, v in bars], y_format, H - BOTTOM, TOP, from_zero=True)
    width = (W - LEFT - RIGHT) / len(bars)
    x_ticks = "".join(
        f'<text x="{LEFT + i * width + width / 2:.1f}" y="{H - BOTTOM + 18}" text-anchor="middle" '
        f'class="tick x-tick">{escape(label)}</text>'
        for i, (label, _) in enumerate(bars)
    )
    rects = "".join(
        f'<rect x="{LEFT + i * width + 4:.1f}" y="{y(v):.1f}" width="{width - 8:.1f}" height="{y(0) - y(v):.1f}">'
        f"<title>{escape(label)}: {v:g}</title></rect>"
        for i, (label, v) in enumerate(bars)
    )
    return _svg(title, x_label, y_label, _frame(x_ticks, y, x_label=x_label, y_label=y_label) + rects)
