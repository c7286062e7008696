"""Small lines that Tesseract merged into the row of a large one, read apart again.

A letterhead sets the company's name large and its address small beside it, two or three
lines of the address within the height of the name. Tesseract's line finding takes the
row for one line: the name reads well, and the address, two lines squeezed into one,
comes out as a few tall words of nonsense ("niet wet dn" for "14 Harbour Street / Bristol
BS1 4QA"). Such words stand out: read with little confidence, and much taller than the
words of their line that were read well. Their region is read again as one block, where
its lines come apart, and that reading replaces them if it holds two lines or more, one above
the other, read well (a word between tall brackets is one line, and stays as read).
"""

from __future__ import annotations

import itertools
import statistics

from .listings import Reread
from .words import Box, Line, Word, union_all

_SURE = 0.8  # confidence of the words that tell the line's height
_DOUBTFUL = 0.6  # confidence below which a word may be several lines read as one
_TALL = 1.2  # times the line's height: a word this tall holds more than one line
_PAD = 0.2  # of the line's height, white read around the words


def reread_merged(lines: list[Line], reread: Reread) -> list[Line]:
    """The page's lines with the words that hold lines of their own read again apart."""
    result: list[Line] = []
    for line in lines:
        result.extend(_apart(line, reread))
    return result


def _apart(line: Line, reread: Reread) -> list[Line]:
    sure = [w for w in line.words if w.confidence >= _SURE]
    if len(sure) < 2:
        return [line]
    height = statistics.median(w.box.height for w in sure)
    merged = [w for w in line.words if w.confidence < _DOUBTFUL and w.box.height > _TALL * height]
    if not merged:
        return [line]
    kept = [w for w in line.words if not any(w is m for m in merged)]
    fresh: list[Line] = []
    for run in _runs(line.words, merged):
        box = union_all([w.box for w in run])
        pad = round(_PAD * height)
        region = Box(box.left - pad, box.top - pad, box.right + pad, box.bottom + pad)
        read = [
            Line([w for w in f.words if not any(w.box.overlap(k.box) > 0 for k in kept)])
            for f in reread(region)
        ]
        read = [f for f in read if f.words]
        if not lines_apart(read):
            return [line]  # one line after all (a word between tall brackets): it stands
        fresh.extend(read)
    return [Line(kept), *fresh] if kept else fresh


def lines_apart(lines: list[Line]) -> bool:
    """Whether the reading holds two lines or more, one above the other, read well."""
    if len(lines) < 2 or statistics.median(w.confidence for f in lines for w in f.words) < _SURE:
        return False
    ordered = sorted(lines, key=lambda f: f.box.top)
    return all(b.box.top >= a.box.bottom - _PAD * a.height for a, b in itertools.pairwise(ordered))


def _runs(words: list[Word], merged: list[Word]) -> list[list[Word]]:
    """The merged words in runs of neighbours along the line."""
    runs: list[list[Word]] = []
    previous = False
    for word in words:
        inside = any(word is m for m in merged)
        if inside and previous:
            runs[-1].append(word)
        elif inside:
            runs.append([word])
        previous = inside
    return runs
