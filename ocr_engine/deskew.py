"""Small skew, measured and straightened before recognition.

The angle is the one that makes the rows of ink sharpest (the projection-profile method), on
a copy of the page at about 50 dpi, so the search costs a few milliseconds.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageStat

_SEARCH_DPI = 50
_MAX_DEGREES = 6.0
_MIN_DEGREES = 0.3  # smaller skews do Tesseract no harm
_MIN_GAIN = 1.15  # the best angle must sharpen the rows this much over none
_MAX_POINTS = 60_000
_MIN_SEARCH_SIDE = 400  # pixels on the longer side, at least, of the image searched


def skew_angle(image: Image.Image, dpi: int) -> float:
    """Degrees to rotate the page by (counter-clockwise) to level its lines; 0 when level."""
    # Lines a few pixels high give rows too coarse to measure a degree by: a small image (a
    # snippet, a screenshot) is searched at a resolution that keeps it `_MIN_SEARCH_SIDE` wide.
    factor = max(1, min(round(dpi / _SEARCH_DPI), max(image.size) // _MIN_SEARCH_SIDE))
    small = np.asarray(image.reduce(factor) if factor > 1 else image)
    ys, xs = np.nonzero(small < 160)
    if len(ys) < 100:
        return 0.0
    if len(ys) > _MAX_POINTS:
        keep = np.random.default_rng(0).choice(len(ys), _MAX_POINTS, replace=False)
        ys, xs = ys[keep], xs[keep]
    xs_int = xs
    ys = ys.astype(np.float64)
    xs = xs.astype(np.float64) - xs.mean()

    def sharpness(angle: float) -> float:
        # The row each ink pixel lands on once the page is turned by `angle`: rows of text
        # line up into sharp peaks at the right angle.
        rows = ys + xs * np.tan(np.radians(angle))
        profile = np.bincount((rows - rows.min()).astype(np.int64))
        return float(np.square(np.diff(profile)).sum())

    level = sharpness(0.0)
    coarse = max(np.arange(-_MAX_DEGREES, _MAX_DEGREES + 0.01, 0.5), key=sharpness)
    fine = max(np.arange(coarse - 0.4, coarse + 0.41, 0.1), key=sharpness)
    best = sharpness(fine)
    if abs(fine) < _MIN_DEGREES or best < _MIN_GAIN * level:
        return 0.0
    if float(np.square(np.diff(np.bincount(xs_int))).sum()) > best:
        return 0.0  # lines run down the page: a turned page, for orientation to handle
    return round(-float(fine), 2)


def straighten(image: Image.Image, dpi: int) -> tuple[Image.Image, float]:
    """The page rotated level, if it was skewed (otherwise the page itself), and the degrees
    it was rotated by, counter-clockwise.

    The corners the rotation uncovers take the colour of the page's paper. White corners
    around gray paper (most scans) give the page two shades of background, and Tesseract's
    Otsu threshold falls between them: the whole sheet turns black and nothing is read.
    """
    angle = skew_angle(image, dpi)
    if not angle:
        return image, 0.0
    level = image.rotate(
        angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=_paper(image)
    )
    return level, angle


def _paper(image: Image.Image) -> int | tuple[int, ...]:
    """The page's background colour: its median, as text covers far less than half a page."""
    sample = image.reduce(max(1, min(image.size) // 256))
    median = tuple(round(v) for v in ImageStat.Stat(sample).median)
    return median[0] if len(median) == 1 else median
