"""Pages that arrive sideways or upside down, turned upright before they are read.

Most pages are upright, so a page is recognised as it comes first; only a page whose words
read badly, or stand on end, is checked with Tesseract's orientation detection (OSD), turned
and read again, and the better reading kept. An upright page costs nothing extra.
"""

from __future__ import annotations

import logging
import statistics

from PIL import Image

from .recognize import Recognizer
from .words import Paragraph, Word, parse_tsv

log = logging.getLogger(__name__)

_DOUBTFUL_CONFIDENCE = 0.7  # a median word confidence below this may be a turned page
_MIN_WORDS = 3
_MIN_OSD_CONFIDENCE = 1.5
_SIDEWAYS_BAR = 0.8
_TURN = {
    90: Image.Transpose.ROTATE_90,
    180: Image.Transpose.ROTATE_180,
    270: Image.Transpose.ROTATE_270,
}


def recognize_upright(
    image: Image.Image, recognizer: Recognizer, *, languages: str, dpi: int | None, timeout: float
) -> tuple[Image.Image, int, list[Paragraph]]:
    """The page turned upright (if it was not), the degrees it was turned by counter-clockwise,
    and its paragraphs."""
    paragraphs = parse_tsv(recognizer.tsv(image, languages=languages, dpi=dpi, timeout=timeout))
    words = [w for p in paragraphs for w in p.words]
    if len(words) < _MIN_WORDS:
        return image, 0, paragraphs
    sideways = _standing(words)
    if not sideways and statistics.median(w.confidence for w in words) >= _DOUBTFUL_CONFIDENCE:
        return image, 0, paragraphs
    found = recognizer.orientation(image, dpi=dpi, timeout=timeout)
    if found is None or found[0] not in _TURN or found[1] < _MIN_OSD_CONFIDENCE:
        return image, 0, paragraphs
    turned = turn(image, found[0])
    second = parse_tsv(recognizer.tsv(turned, languages=languages, dpi=dpi, timeout=timeout))
    # Tesseract may read a sideways page well, but its boxes would not be upright: prefer the
    # turned reading unless it is clearly worse.
    bar = _SIDEWAYS_BAR if sideways else 1.0
    if _quality([w for p in second for w in p.words]) > bar * _quality(words):
        log.debug("page turned by %d degrees (OSD confidence %.1f)", found[0], found[1])
        return turned, found[0], second
    return image, 0, paragraphs


def turn(image: Image.Image, rotation: int) -> Image.Image:
    """`image` turned `rotation` degrees (a multiple of 90) counter-clockwise."""
    return image.transpose(_TURN[rotation]) if rotation else image


def _standing(words: list[Word]) -> bool:
    """Whether most words stand on end: text read along a sideways page."""
    long_words = [w for w in words if len(w.text) >= 3]
    standing = sum(1 for w in long_words if w.box.height > w.box.width)
    return bool(long_words) and standing > len(long_words) / 2


def _quality(words: list[Word]) -> float:
    return sum(w.confidence**2 for w in words if len(w.text) >= 2)
