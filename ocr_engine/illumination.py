"""Uneven lighting evened out before a page is read.

Tesseract binarises a page with one threshold (Otsu's). A page photographed under a lamp,
or a photocopy with dark borders, has paper of many shades: where the paper is darker than
the threshold the page turns black, and nothing there is read. The paper's brightness is
estimated over the page (the brightest part of every patch about half an inch wide, where
there is always some paper between the lines), and where it varies gradually, as light does,
each pixel is scaled by its paper's brightness, so the paper is one shade and the ink keeps
its contrast. A page evenly lit, as from a flatbed scanner, is left as it is, and so is one
whose paper changes sharply: shaded boxes and table heads, which are the page's own.

A shaded box's ground is its own trouble: when it covers a good part of the page, Otsu's
threshold may fall between the shade and the paper rather than between the ink and both,
and which way it falls turns on a few pixels (the same page read at another size, or with
a little noise). The box then reads as one black picture and its text is lost. A light
shade covering much of the page is brought to the paper's white, the ink with it in
proportion, so that every threshold parts the ink from both.
"""

from __future__ import annotations

import logging

import numpy as np
from PIL import Image

log = logging.getLogger(__name__)

_SAMPLE_DPI = 25  # the paper is estimated on the page at this resolution
_PATCH_INCHES = 0.5  # side of the patch in which some paper is always found
_PAPER = 90  # percentile of a patch's pixels that is its paper
_UNEVEN = 40  # gray levels between the brighter and the dimmer paper that need evening
_REGIONS = 3  # the page in 3 x 3 parts, each of which has some paper in lamp light
_REGION_PAPER = 80  # percentile of a part's patches that is its paper
_GRADUAL = 20  # gray levels from patch to patch that light changes by, most places at most
_SHADE_SHARE = 0.05  # of the page's pixels in one light shade: a shaded ground
_SHADE_BAND = 4  # gray levels either side of a shade's own
_LIGHT_SHADE = 160  # the darkest shade that is a light ground behind dark ink
_UNDER_PAPER = 20  # gray levels a shade lies below the paper, at least
_ONE_SHADE = 0.6  # of the pixels near a shade that lie within its band


def even(image: Image.Image, dpi: int) -> Image.Image:
    """The page with its paper brought to one brightness, if its lighting is uneven."""
    if image.mode != "L":
        return image
    paper = _paper(image, dpi)
    regions = [
        float(np.percentile(part, _REGION_PAPER))
        for band in np.array_split(paper, _REGIONS, axis=0)
        for part in np.array_split(band, _REGIONS, axis=1)
        if part.size
    ]
    low, high = min(regions), max(regions)
    if high - low < _UNEVEN or _steps(paper) > _GRADUAL:
        # Evenly lit; or shaded boxes, a photograph, on a page evenly lit: each part of the
        # page still has paper of the one shade around them (and a box's edges are sharp).
        return image
    log.debug("page lit unevenly (paper %.0f to %.0f); evened out", low, high)
    background = Image.fromarray(paper.astype(np.uint8)).resize(
        image.size, Image.Resampling.BILINEAR
    )
    gain = float(high) / np.maximum(np.asarray(background, dtype=np.float32), 1.0)
    evened = np.asarray(image, dtype=np.float32) * gain
    return Image.fromarray(np.clip(evened, 0, 255).astype(np.uint8))


def _steps(paper: np.ndarray) -> float:
    """How much the paper changes from one patch to the next, at most in most places."""
    steps = np.concatenate(
        [np.abs(np.diff(paper, axis=0)).ravel(), np.abs(np.diff(paper, axis=1)).ravel()]
    )
    return float(np.percentile(steps, 95)) if steps.size else 0.0


def _paper(image: Image.Image, dpi: int) -> np.ndarray:
    """The paper's brightness in each patch of the page: a small 2-D array."""
    factor = max(1, round(dpi / _SAMPLE_DPI))
    small = np.asarray(image.reduce(factor), dtype=np.float32)
    side = max(2, round(_PATCH_INCHES * dpi / factor))
    rows, columns = -(-small.shape[0] // side), -(-small.shape[1] // side)
    padded = np.pad(
        small, ((0, rows * side - small.shape[0]), (0, columns * side - small.shape[1])), "edge"
    )
    patches = padded.reshape(rows, side, columns, side).transpose(0, 2, 1, 3)
    return np.percentile(patches.reshape(rows, columns, -1), _PAPER, axis=2)


def unshaded(image: Image.Image) -> Image.Image:
    """The page with a light shaded ground that covers much of it brought to white."""
    if image.mode not in ("L", "RGB"):
        return image
    gray = image if image.mode == "L" else image.convert("L")
    counts = np.asarray(gray.histogram(), dtype=np.int64)
    total = int(counts.sum())
    paper = int(np.searchsorted(np.cumsum(counts), _PAPER / 100 * total))
    band = np.convolve(counts, np.ones(2 * _SHADE_BAND + 1, dtype=np.int64), mode="same")
    # A shade is one gray, give or take the scanner's noise; paper dimming under a lamp, or
    # a photograph, spreads over many.
    wide = np.convolve(counts, np.ones(6 * _SHADE_BAND + 1, dtype=np.int64), mode="same")
    shades = [
        level
        for level in range(_LIGHT_SHADE, paper - _UNDER_PAPER + 1)
        if band[level] >= _SHADE_SHARE * total
        and band[level] >= _ONE_SHADE * wide[level]
        and counts[level] == counts[level - 1 : level + 2].max()
    ]
    if not shades:
        return image
    shade = max(shades, key=lambda level: band[level])
    log.debug(
        "page shaded at %d over %.0f %% (paper %d); brought to white",
        shade,
        100 * band[shade] / total,
        paper,
    )
    gain = 255 / (shade - _SHADE_BAND)
    table = [min(255, round(v * gain)) for v in range(256)]
    return image.point(table * len(image.getbands()))
