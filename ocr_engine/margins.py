"""Page numbers and running lines in the margins, read where Tesseract left them.

A page number alone at the foot of a page ("- 8 -") is small, short and far from any other
text; Tesseract's layout analysis often takes it for noise and reads nothing there. Where
the top or bottom margin holds ink that no line read covers, in a band of a line's height
and of print's density, that band is read again as a block; words read with confidence
join the page's lines.
"""

from __future__ import annotations

import statistics

import numpy as np

from .listings import Reread
from .words import INK, Box, Line

_ZONE = 0.12  # of the page's height: its top and bottom margins
_MIN_HEIGHT = 0.5  # of the body's line height: a band lower than this is a rule or specks
_MAX_HEIGHT = 1.5  # and a band taller than this a logo, a picture or a border
_DENSITY = (0.05, 0.6)  # share of a band's box that is ink, for print (not specks, not a bar)
_SURE = 0.4  # confidence of a word read in a band, at least ("~8-" for "- 8 -" reads 0.49)
_PAD = 0.5  # of the band's height, white read around it


def reread_margins(
    lines: list[Line], gray: np.ndarray, factor: float, page_height: int, reread: Reread
) -> list[Line]:
    """The page's lines with what was read again in its margins: `gray` is the page at
    1/`factor` of its resolution (the coarse analysis image)."""
    if not lines:
        return lines
    body = statistics.median(line.height for line in lines)
    ink = gray < INK
    for line in lines:  # what was read is not looked at again
        b = line.box
        ink[
            max(0, int(b.top / factor) - 1) : int(b.bottom / factor) + 2,
            max(0, int(b.left / factor) - 1) : int(b.right / factor) + 2,
        ] = False
    zone = max(1, int(_ZONE * page_height / factor))
    top: list[Line] = []
    bottom: list[Line] = []
    for start, end, found in ((0, zone, top), (ink.shape[0] - zone, ink.shape[0], bottom)):
        for band in _bands(ink, max(0, start), end, body / factor):
            found.extend(_read(band, factor, reread, lines))
    return [*top, *lines, *bottom]


def _bands(ink: np.ndarray, start: int, end: int, body: float) -> list[Box]:
    """Boxes (in coarse pixels) of the runs of rows holding ink in [start, end) that have a
    line's height and print's density."""
    rows = [bool(v) for v in np.asarray(ink[start:end].any(axis=1)).ravel()]
    bands: list[Box] = []
    row = 0
    while row < len(rows):
        if not rows[row]:
            row += 1
            continue
        first = row
        while row < len(rows) and rows[row]:
            row += 1
        top, bottom = start + first, start + row
        columns = np.flatnonzero(ink[top:bottom].any(axis=0))
        box = Box(int(columns[0]), top, int(columns[-1]) + 1, bottom)
        density = ink[top:bottom, box.left : box.right].mean()
        if (
            _MIN_HEIGHT * body <= box.height <= _MAX_HEIGHT * body
            and box.width >= box.height
            and _DENSITY[0] <= density <= _DENSITY[1]
        ):
            bands.append(box)
    return bands


def _read(band: Box, factor: float, reread: Reread, lines: list[Line]) -> list[Line]:
    pad = _PAD * band.height
    region = Box(
        round((band.left - pad) * factor),
        round((band.top - pad) * factor),
        round((band.right + pad) * factor),
        round((band.bottom + pad) * factor),
    )
    found = []
    for line in reread(region):
        words = [
            w
            for w in line.words
            if w.confidence >= _SURE
            and any(c.isalnum() for c in w.text)
            and not any(w.box.overlap(other.box) > 0 for other in lines)
        ]
        if words:
            found.append(Line(words))
    return found
