"""Right-sized pages: recognise text at the resolution it needs, not the one it came at.

Tesseract's recogniser scales every text line to a fixed height; pixels beyond what the text
needs only cost time in layout analysis and line scaling. Body text at 10-12 pt scanned at
300 dpi reads as well or better at about half the resolution, for about a third less CPU: on
the real-document corpus of `make eval`, manual pages went from 1.12 % to 0.94 % character
error and the same pages under 1 % salt-and-pepper noise from 4.23 % to 2.36 % (smoothing
averages the specks away), with tables' small print unchanged. The text's size is measured
as the height of its lines (the bands of rows with ink, in strips narrow enough not to mix
columns), on the straightened page; the page is scaled down so that its lines are about as
high as 10-pt type at 170 dpi, and never up. A page whose lines are few or unlike each other
is read as it is.

Glyphs told apart by a pixel or two (l and I, a thin quote) can blur together at the smaller
size: a word the right-sized reading doubts is read again from the page's own pixels, and the
surer of the two readings kept.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PIL import Image

from .recognize import Recognizer, scaled_tsv
from .words import INK, Box, Line, Paragraph, spans

# A line of 10-pt type (ascenders to descenders, as the bands measure it) at 170 dpi, in
# pixels. Smaller still (19) read noisy pages better but tables' 8-pt print worse.
TARGET_LINE_PX = 22.0
_MIN_SCALE = 0.5  # very large type is not made smaller than half
_WORTH_IT = 0.85  # a smaller saving is not worth the resampling
_STRIP_INCHES = 1.5  # the page is measured in vertical strips, so columns do not mix
_MIN_LINES = 8  # lines needed to trust a measurement
_MIN_BAND_PX = 4  # thinner bands (at analysis resolution) are rules and specks
_SPREAD = 0.35  # the middle half of the lines within this share of their median height
# Words read with less confidence than this at the smaller size are read again, the least
# sure first, up to a number per page that keeps a page of noise from costing seconds.
_DOUBTFUL = 0.6
_MAX_REREAD_WORDS = 10
_MIN_REREAD_LENGTH = 5
_SURER = 0.2  # the new reading's confidence over the old one's


def line_height(gray: np.ndarray, dpi: float) -> float | None:
    """The height of the page's lines of text, in pixels of `gray` (at `dpi`), or None
    when the page has too few lines, or lines too unlike each other, to say."""
    ink = gray < INK
    strip = max(8, round(_STRIP_INCHES * dpi))
    heights: list[int] = []
    lines = 0  # in the strip that crosses the most: the page's lines, not lines x strips
    for x in range(0, ink.shape[1], strip):
        rows = ink[:, x : x + strip].sum(axis=1) > 0
        bands = [h for h in _runs(rows) if h >= _MIN_BAND_PX]
        heights.extend(bands)
        lines = max(lines, len(bands))
    if lines < _MIN_LINES:
        return None
    low, median, high = np.percentile(heights, [25, 50, 75])
    if high - low > _SPREAD * median:
        return None
    return float(median)


def _runs(rows: np.ndarray) -> list[int]:
    """The lengths of the runs of True in a boolean vector."""
    starts, stops = spans(rows)
    return [int(n) for n in stops - starts]


def recognition_scale(gray: np.ndarray, factor: float, dpi: float) -> float:
    """How much to scale a page down for recognition: 1.0 to leave it as it is.

    `gray` is the page at 1/`factor` of its resolution (the coarse analysis image, at `dpi`).
    """
    height = line_height(gray, dpi)
    if height is None:
        return 1.0
    scale = max(_MIN_SCALE, TARGET_LINE_PX / (height * factor))
    return scale if scale < _WORTH_IT else 1.0


class ScaledRecognizer:
    """A recognizer that reads pages scaled by `scale`, its boxes given in the page's own
    pixels."""

    def __init__(self, recognizer: Recognizer, scale: float) -> None:
        self._recognizer = recognizer
        self._scale = scale

    def _small(self, image: Image.Image) -> Image.Image:
        size = (max(1, round(image.width * self._scale)), max(1, round(image.height * self._scale)))
        return image.resize(size, Image.Resampling.LANCZOS)

    def warm(self, languages: str) -> None:
        self._recognizer.warm(languages)

    def _dpi(self, dpi: int | None) -> int | None:
        return round(dpi * self._scale) if dpi else None

    def tsv(
        self,
        image: Image.Image,
        *,
        languages: str,
        dpi: int | None,
        timeout: float,
        block: bool = False,
        digits: bool = False,
    ) -> str:
        tsv = self._recognizer.tsv(
            self._small(image),
            languages=languages,
            dpi=self._dpi(dpi),
            timeout=timeout,
            block=block,
            digits=digits,
        )
        return scaled_tsv(tsv, 1 / self._scale)

    def orientation(
        self, image: Image.Image, *, dpi: int | None, timeout: float
    ) -> tuple[int, float] | None:
        return self._recognizer.orientation(self._small(image), dpi=self._dpi(dpi), timeout=timeout)

    def close(self) -> None:
        self._recognizer.close()


def reread_doubtful(paragraphs: list[Paragraph], reread: Callable[[Box], list[Line]]) -> None:
    """Read again, with `reread` (at the page's own resolution, in page pixels), the long words
    the right-sized reading doubts; a word takes the new reading when it is one word of the
    same length, read surely.

    A blurred `l` read as `I` ("IgpI.htmI") costs the word its confidence, not its box or its
    length. Short words are left as read: out of their line, "()" reads as "C)" as surely.
    """
    doubtful = sorted(
        (
            w
            for p in paragraphs
            for w in p.words
            if w.confidence < _DOUBTFUL and len(w.text) >= _MIN_REREAD_LENGTH
        ),
        key=lambda w: w.confidence,
    )[:_MAX_REREAD_WORDS]
    for word in doubtful:
        pad = max(2, word.box.height // 4)
        box = word.box
        found = [
            w
            for line in reread(
                Box(box.left - pad, box.top - pad, box.right + pad, box.bottom + pad)
            )
            for w in line.words
        ]
        if (
            len(found) == 1
            and len(found[0].text) == len(word.text)
            and found[0].text != word.text
            and found[0].confidence >= word.confidence + _SURER
        ):
            word.text, word.confidence = found[0].text, found[0].confidence
