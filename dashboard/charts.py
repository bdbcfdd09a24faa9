"""Server-side SVG charts: no JavaScript and no CDN; every point has a <title> for its numbers on hover."""

from __future__ import annotations

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

W, H, PAD = 640, 260, 44


def _scale(values: list[float], lo_px: float, hi_px: float):
    lo, hi = min(values), max(values)
    span = (hi - lo) or 1.0
    return lambda v: lo_px + (v - lo) / span * (hi_px - lo_px)


def line_chart(points: list[tuple[float, float, str]], *, x_label: str, y_label: str, title: str) -> SafeString:
    """points: (x, y, hover text); x may be day ordinals or vote counts."""
    if not points:
        return mark_safe(f'<p class="empty">No data yet for “{escape(title)}”.</p>')
    sx = _scale([p[0] for p in points], PAD, W - 12)
    sy = _scale([0.0] + [p[1] for p in points], H - PAD, 12)
    path = " ".join(f"{'M' if i == 0 else 'L'}{sx(x):.1f},{sy(y):.1f}" for i, (x, y, _) in enumerate(points))
    dots = "".join(
        f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="4"><title>{escape(text)}</title></circle>'
        for x, y, text in points
    )
    return mark_safe(
        f'<svg viewBox="0 0 {W} {H}" role="img" aria-label="{escape(title)}" class="chart">'
        f'<line x1="{PAD}" y1="{H - PAD}" x2="{W - 12}" y2="{H - PAD}" class="axis"/>'
        f'<line x1="{PAD}" y1="12" x2="{PAD}" y2="{H - PAD}" class="axis"/>'
        f'<text x="{W / 2}" y="{H - 8}" text-anchor="middle">{escape(x_label)}</text>'
        f'<text x="12" y="{H / 2}" transform="rotate(-90 12 {H / 2})" text-anchor="middle">{escape(y_label)}</text>'
        f'<path d="{path}" class="line"/>{dots}</svg>'
    )


def bar_chart(bars: list[tuple[str, float]], *, title: str) -> SafeString:
    if not bars:
        return mark_safe(f'<p class="empty">No data yet for “{escape(title)}”.</p>')
    top = max(v for _, v in bars) or 1.0
    width = (W - 2 * PAD) / len(bars)
    rects = "".join(
        f'<rect x="{PAD + i * width + 4:.1f}" y="{H - PAD - (v / top) * (H - PAD - 12):.1f}" '
        f'width="{width - 8:.1f}" height="{(v / top) * (H - PAD - 12):.1f}">'
        f"<title>{escape(label)}: {v:g}</title></rect>"
        f'<text x="{PAD + i * width + width / 2:.1f}" y="{H - PAD + 16}" text-anchor="middle">{escape(label)}</text>'
        for i, (label, v) in enumerate(bars)
    )
    return mark_safe(f'<svg viewBox="0 0 {W} {H}" role="img" aria-label="{escape(title)}" class="chart">{rects}</svg>')
