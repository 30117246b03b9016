"""Generated SVG pictures for previews and thumbnails, so a gallery works offline.

Each picture shows the creative's title on its own colour. ``video.svg`` is an
animated SVG (the sandbox cannot ship real video); ``poster.svg`` has a play badge.
"""

from __future__ import annotations

import re
import textwrap
from xml.sax.saxutils import escape

W, H = 360, 640
FONT = 'font-family="Helvetica, Arial, sans-serif"'


def _text_colour(hex_colour: str) -> str:
    h = hex_colour.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return "#111111" if (0.299 * r + 0.587 * g + 0.114 * b) > 160 else "#FFFFFF"


def _title_rows(title: str, fg: str) -> str:
    lines = textwrap.wrap(title or "Untitled", width=16)[:7]
    top = H / 2 - (len(lines) - 1) * 20
    return "".join(
        f'<text x="{W // 2}" y="{top + i * 40:.0f}" font-size="30" font-weight="700" '
        f'text-anchor="middle" fill="{fg}" {FONT}>{escape(line)}</text>'
        for i, line in enumerate(lines)
    )


def _badge(name: str, fg: str) -> str:
    m = re.match(r"slide-(\d+)", name)
    if m:
        return (
            f'<rect x="{W - 86}" y="20" width="66" height="32" rx="16" '
            f'fill="{fg}" fill-opacity="0.2"/>'
            f'<text x="{W - 53}" y="42" font-size="18" text-anchor="middle" fill="{fg}" {FONT}>'
            f"{int(m.group(1))}</text>"
        )
    if name in ("poster", "video"):
        cx, cy = W // 2, H - 120
        return (
            f'<circle cx="{cx}" cy="{cy}" r="38" fill="{fg}" fill-opacity="0.25"/>'
            f'<path d="M{cx - 12} {cy - 20} L{cx + 20} {cy} L{cx - 12} {cy + 20} Z" fill="{fg}"/>'
        )
    return ""


def render(title: str, colour: str, name: str) -> str:
    """SVG for ``/media/<project>/<object>/<name>.svg``."""
    fg = _text_colour(colour)
    anim = ""
    if name == "video":
        anim = (
            f'<rect x="0" y="{H - 8}" width="0" height="8" fill="{fg}">'
            f'<animate attributeName="width" from="0" to="{W}" dur="6s" '
            f'repeatCount="indefinite"/></rect>'
        )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
        f'viewBox="0 0 {W} {H}">'
        f'<rect width="{W}" height="{H}" fill="{colour}"/>'
        f'<rect x="16" y="16" width="{W - 32}" height="{H - 32}" rx="24" fill="none" '
        f'stroke="{fg}" stroke-opacity="0.25" stroke-width="2"/>'
        f"{_title_rows(title, fg)}{_badge(name, fg)}{anim}"
        f'<text x="{W // 2}" y="{H - 36}" font-size="14" text-anchor="middle" fill="{fg}" '
        f'fill-opacity="0.7" {FONT}>Layers sandbox</text>'
        "</svg>"
    )
