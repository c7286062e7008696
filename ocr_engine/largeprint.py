"""Print too large for Tesseract: a cover's title, a poster's line.

Tesseract's recogniser reads lines of a few dozen pixels; letters an inch tall at 300 dpi
(300 px) it reads as nothing, and their ink is then taken for pictures, a letter or two
each. Reading the whole page smaller for their sake would cost its body text, so only where
pictures stand is the page looked at again: the band across the page that a row of them
spans is read drawn small enough for its tallest ink to be the height of body text, and
large lines read there as words with confidence are text; the pictures they cover are none.
"""

from __future__ import annotations

import statistics

import numpy as np
from PIL import Image

from .blankcells import Read
from .words import INK, Box, Line, spans, union_all

_LARGE_INCHES = 0.3  # ink this tall or taller may be a line of large print
_TARGET_PX = 40  # the height the tallest ink is drawn at to be read again
_CONFIDENT = 0.85  # median confidence of a line of print read again
_MIN_LETTERS = 2  # letters of a word that counts as one
_OWN_SIZE = 0.5  # of the tallest ink: a line read again smaller than this was read before


def read_large_print(
    gray: np.ndarray, figures: list[Box], read: Read, *, dpi: int
) -> tuple[list[Line], list[Box]]:
    """The lines of large print read where `figures` stand (page pixels), and the figures
    that remain pictures."""
    found: list[Line] = []
    pictures: list[Box] = []
    for group in _in_rows(figures):
        lines = _read_band(gray, union_all(group), read, dpi)
        found.extend(lines)
        pictures.extend(b for b in group if not any(b.overlap(line.box) for line in lines))
    return found, sorted(pictures, key=lambda b: (b.top, b.left))


def _in_rows(figures: list[Box]) -> list[list[Box]]:
    """The figures grouped where they stand level with each other: the letters of a line
    of large print, each taken for a picture of its own."""
    groups: list[list[Box]] = []
    for box in sorted(figures, key=lambda b: b.top):
        for group in groups:
            last = union_all(group)
            low = min(box.height, last.height)
            if min(box.bottom, last.bottom) - max(box.top, last.top) >= low / 2:
                group.append(box)
                break
        else:
            groups.append([box])
    return groups


def _read_band(gray: np.ndarray, box: Box, read: Read, dpi: int) -> list[Line]:
    """The large lines read in the band across the page that `box` spans."""
    region = gray[max(0, box.top) : box.bottom, max(0, box.left) : box.right]
    if region.size == 0:
        return []
    starts, ends = spans((region < INK).any(axis=1))
    tallest = int((ends - starts).max()) if starts.size else 0
    if tallest < _LARGE_INCHES * dpi:
        return []  # print this size the page's reading has seen: a drawing
    pad = tallest // 8
    top, bottom = max(0, box.top - pad), min(gray.shape[0], box.bottom + pad)
    band = gray[top:bottom]
    scale = _TARGET_PX / tallest
    small = Image.fromarray(band).resize(
        (max(1, round(band.shape[1] * scale)), max(1, round(band.shape[0] * scale))),
        Image.Resampling.LANCZOS,
    )
    lines = [line.moved(0, top, 1 / scale) for line in read(small)]
    return [ln for ln in lines if _print(ln) and ln.box.height >= _OWN_SIZE * tallest]


def _print(line: Line) -> bool:
    """Whether a line read again reads as print: words of letters, read with confidence."""
    return (
        any(sum(c.isalpha() for c in w.text) >= _MIN_LETTERS for w in line.words)
        and statistics.median(w.confidence for w in line.words) >= _CONFIDENT
    )
