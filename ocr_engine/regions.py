"""What a page image holds besides words: ruled tables and figures.

Both are found on a coarse copy of the page (about 100 dpi), which is plenty for lines and
pictures and keeps the numpy work to a few milliseconds.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image

from .model import Span
from .words import Box

ANALYSIS_DPI = 100
_DARK = 150  # a rule or an ink pixel on a white page
_RULE_MIN_INCHES = 0.4  # shorter dark runs are letters, not rules
_RULE_MERGE_PX = 3  # rules this close (at analysis DPI) are one thick rule
_RULE_MAX_PX = 6  # thicker than this (at analysis DPI) is not a rule
_TOUCH_PX = 4  # a rule ending this near another still meets it
_RULE_CONTRAST = 60  # grey levels below the paper's, for a rule on a dark or tinted scan
_RULE_CLEAR_PX = 2  # rows this far above and below a rule are looked at for ink
_RULE_CLEAR_INK = 0.5  # share of dark pixels there that makes a run letters, not a rule
_RULE_COVER = 0.6  # of a rule's length: a row (column) of page pixels this dark is the rule's
_RULE_EDGE = 2  # page px either side of a rule's dark pixels
_SHADE_CONTRAST = 25  # grey levels below the paper's: a shaded cell
# Of a page's area in mid grey, for white lines between shaded cells to be looked for: a
# dense page of text has 3 %. Text's blocks, kept at their darkest, are darker than mid grey.
_MIN_SHADE = 0.05
_SHADE_DARKEST = 60  # the darkest grey that is shade, not ink
# Thicker runs of paper (at analysis DPI) between shade are no rule; shade's solid inside is
# a pixel short of its edge on each side.
_LIGHT_RULE_PX = 4
_LIGHT_RULE_MIN_INCHES = 0.6  # light type on shade leaves shorter white runs
_LIGHT_RULE_APART = 10  # analysis px between a light rule and a dark one beside it
_FIGURE_CELL = 4  # analysis pixels per cell of the figure grid
_FIGURE_INK = 0.08
_INK_CONTRAST = 40  # grey levels below the paper's
_TEXT_SHARE = 0.2  # share of a region covered by words that makes it text on a ground
_FIGURE_MIN_INCHES = 0.5
_HOLLOW = 0.6  # a frame's middle is this much emptier than the whole of it, at most


@dataclass(frozen=True)
class Grid:
    """A table's layout: its outline, the rules (or gutters) between its rows and columns
    (page px), and the cells that span more than one row or column."""

    box: Box
    rows: tuple[int, ...]  # y of each row boundary, top to bottom
    columns: tuple[int, ...]  # x of each column boundary, left to right
    spans: tuple[Span, ...] = ()

    def cells(self) -> list[list[Box]]:
        return [
            [
                Box(self.columns[c], self.rows[r], self.columns[c + 1], self.rows[r + 1])
                for c in range(len(self.columns) - 1)
            ]
            for r in range(len(self.rows) - 1)
        ]

    def merged(self) -> dict[tuple[int, int], Span]:
        """Each (row, column) a merged cell covers, its own top left one included, to it."""
        return {
            (s.row + dr, s.column + dc): s
            for s in self.spans
            for dr in range(s.rows)
            for dc in range(s.columns)
        }

    def span_box(self, span: Span) -> Box:
        """The outline of the cells `span` covers."""
        return Box(
            self.columns[span.column],
            self.rows[span.row],
            self.columns[span.column + span.columns],
            self.rows[span.row + span.rows],
        )


@dataclass(frozen=True)
class Rules:
    """The page's straight rules in page px: horizontal as (y, x0, x1), vertical (x, y0, y1)."""

    horizontal: list[tuple[int, int, int]]
    vertical: list[tuple[int, int, int]]


def gray_array(image: Image.Image) -> np.ndarray:
    """The image's pixels as a 2-D array of gray levels; a gray image's own, not a copy."""
    return np.asarray(image if image.mode == "L" else image.convert("L"))


def coarse(image: Image.Image, dpi: int) -> tuple[np.ndarray, float]:
    """The page as a grayscale array at about ANALYSIS_DPI, and the factor back to page pixels."""
    factor = max(1.0, dpi / ANALYSIS_DPI)
    if factor > 1.0:
        image = image.resize(
            (max(1, round(image.width / factor)), max(1, round(image.height / factor))),
            Image.Resampling.BOX,
        )
    return gray_array(image), factor


def darkest(image: Image.Image, dpi: int) -> tuple[np.ndarray, float]:
    """The page at about ANALYSIS_DPI keeping each block's darkest pixel, and the factor back.

    Averaging (`coarse`) turns a one-pixel rule that falls across two blocks into light
    grey; the darkest pixel keeps it as dark as it was drawn, wherever it falls.
    """
    return _pooled(image, dpi, np.minimum)


def lightest(image: Image.Image, dpi: int) -> tuple[np.ndarray, float]:
    """The page at about ANALYSIS_DPI keeping each block's lightest pixel, and the factor
    back: a thin white line between shaded cells survives as `darkest` keeps a rule."""
    return _pooled(image, dpi, np.maximum)


def _pooled(
    image: Image.Image, dpi: int, keep: Callable[..., np.ndarray]
) -> tuple[np.ndarray, float]:
    step = max(1, round(dpi / ANALYSIS_DPI))
    gray = gray_array(image)
    height, width = gray.shape[0] // step, gray.shape[1] // step
    if step == 1 or height == 0 or width == 0:
        return gray, 1.0
    # Rows first, over whole contiguous rows, then columns on a third of the pixels: numpy
    # reduces a reshaped 4-D view element by element, ten times slower.
    rows = gray[: height * step, : width * step].reshape(height, step, width * step)
    kept = rows[:, 0].copy()
    for dy in range(1, step):
        keep(kept, rows[:, dy], out=kept)
    columns = kept[:, ::step].copy()
    for dx in range(1, step):
        keep(columns, kept[:, dx::step], out=columns)
    return columns, float(step)


def _runs(mask: np.ndarray, min_length: int) -> np.ndarray:
    """(row, start, end) of every horizontal run of True at least `min_length` long."""
    # Only rows with that much ink at all can hold such a run; most of a page's have not.
    candidates = np.flatnonzero(np.count_nonzero(mask, axis=1) >= min_length)
    padded = np.pad(mask[candidates].astype(np.int8), ((0, 0), (1, 1)))
    edges = np.diff(padded, axis=1)
    starts = np.argwhere(edges == 1)
    ends = np.argwhere(edges == -1)
    lengths = ends[:, 1] - starts[:, 1]
    keep = lengths >= min_length
    return np.column_stack([candidates[starts[keep, 0]], starts[keep, 1], ends[keep, 1]])


def _rules(mask: np.ndarray, min_length: int) -> list[tuple[int, int, int]]:
    """Horizontal rules as (y, x0, x1), runs on neighbouring rows merged into one rule."""
    merged: list[list[int]] = []  # first y, x0, x1, last y
    for y, x0, x1 in _runs(mask, min_length).tolist():
        for rule in reversed(merged):
            if y - rule[3] > _RULE_MERGE_PX:
                continue
            if x0 < rule[2] and x1 > rule[1]:
                rule[1], rule[2], rule[3] = min(rule[1], x0), max(rule[2], x1), y
                break
        else:
            merged.append([y, x0, x1, y])
    # A thick dark band is a picture or a filled shape, not a rule; a run with ink just
    # above and below it is a line of heavy type, not a rule.
    return [
        ((r[0] + r[3]) // 2, r[1], r[2])
        for r in merged
        if r[3] - r[0] <= _RULE_MAX_PX and _clear_around(mask, r)
    ]


def _clear_around(mask: np.ndarray, rule: list[int]) -> bool:
    first, x0, x1, last = rule
    above = mask[max(0, first - _RULE_CLEAR_PX), x0:x1]
    below = mask[min(mask.shape[0] - 1, last + _RULE_CLEAR_PX), x0:x1]
    return float(np.mean(above) + np.mean(below)) / 2 <= _RULE_CLEAR_INK


def find_rules(gray: np.ndarray, factor: float) -> Rules:
    """Straight horizontal and vertical rules at least `_RULE_MIN_INCHES` long.

    `gray` is best the page's `darkest` copy: rules one pixel thin survive it.
    """
    # Dark as ink on white paper; on a grey scan, also well below the paper's shade.
    paper = float(np.percentile(gray[::4, ::4], 90))  # a sample is as good and far quicker
    dark = gray < min(_DARK, paper - _RULE_CONTRAST)
    min_length = int(_RULE_MIN_INCHES * ANALYSIS_DPI)
    return Rules(
        _scaled(_rules(dark, min_length), factor), _scaled(_rules(dark.T, min_length), factor)
    )


def _scaled(rules: list[tuple[int, int, int]], factor: float) -> list[tuple[int, int, int]]:
    """Rules found at analysis resolution, in page px."""
    return [(round(a * factor), round(b * factor), round(c * factor)) for a, b, c in rules]


def find_light_rules(gray: np.ndarray, factor: float) -> Rules:
    """White lines between shaded cells, as rules: a table drawn as blocks of grey parted
    by paper, with no dark rule anywhere. A light rule is a run of paper at least
    `_LIGHT_RULE_MIN_INCHES` long and at most `_LIGHT_RULE_PX` thick with shade on both
    sides.

    `gray` is best the page's `lightest` copy: a white line one pixel thin survives it.
    """
    paper = float(np.percentile(gray[::4, ::4], 90))
    # Shade is solid: a rule, a letter's stroke or its blurred edge is no shaded cell.
    toned = gray < paper - _SHADE_CONTRAST
    shade = toned.copy()
    shade[1:-1, 1:-1] &= toned[:-2, 1:-1] & toned[2:, 1:-1] & toned[1:-1, :-2] & toned[1:-1, 2:]
    min_length = int(_LIGHT_RULE_MIN_INCHES * ANALYSIS_DPI)
    return Rules(
        _scaled(_rules(_thin_gaps(shade), min_length), factor),
        _scaled(_rules(_thin_gaps(shade.T), min_length), factor),
    )


def _thin_gaps(shaded: np.ndarray) -> np.ndarray:
    """Where a row of unshaded pixels lies between shade above and below, within
    `_LIGHT_RULE_PX` of it on each side; a gap goes on across the white line it crosses
    (where the shade beside it stops) up to twice that far."""
    gaps = ~shaded & _near(shaded, _LIGHT_RULE_PX, axis=0) & _near(shaded, -_LIGHT_RULE_PX, axis=0)
    reach = 2 * _LIGHT_RULE_PX + 1
    bridged: np.ndarray = gaps | (
        ~shaded & _near(gaps, reach, axis=1) & _near(gaps, -reach, axis=1)
    )
    return bridged


def _near(mask: np.ndarray, reach: int, *, axis: int) -> np.ndarray:
    """Where `mask` holds within `reach` pixels before each pixel along `axis` (after it,
    for a negative `reach`)."""
    steps = abs(reach)
    lines = mask if axis == 0 else mask.T
    size = lines.shape[0]
    padded = np.pad(lines, ((steps, steps), (0, 0)))
    found = np.zeros_like(lines)
    for k in range(1, steps + 1):
        start = steps - k if reach > 0 else steps + k
        found |= padded[start : start + size]
    return found if axis == 0 else found.T


def shaded(dark: np.ndarray) -> bool:
    """Whether a page, as its `darkest` copy, is shaded over enough of its area to draw a
    table in shade (`_MIN_SHADE`): blocks of mid grey, not text's near-black."""
    sample = dark[::2, ::2]
    paper = float(np.percentile(sample, 90))
    mid = np.count_nonzero((sample > _SHADE_DARKEST) & (sample < paper - _SHADE_CONTRAST))
    return bool(mid >= _MIN_SHADE * sample.size)


def with_light_rules(
    rules: Rules, image: Image.Image, dpi: int, dark: np.ndarray, *, scale: float = 1.0
) -> Rules:
    """`rules` and the white lines between the page's shaded cells (`find_light_rules`), if
    the page (`dark`, its `darkest` copy) is `shaded`: what draws its tables. They are no
    ink to clear from the page (`rule_ink`). `scale` takes `image`'s pixels to the rules'."""
    if not shaded(dark):
        return rules
    gray, factor = lightest(image, dpi)
    light = find_light_rules(gray, factor * scale)
    return joined(rules, light, round(_LIGHT_RULE_APART * factor * scale))


def joined(rules: Rules, light: Rules, apart: int) -> Rules:
    """Dark rules and light ones, but for the light ones within `apart` px of a dark one
    along it: the paper left between a table's border and the shade inside it."""

    def kept(
        light: list[tuple[int, int, int]], dark: list[tuple[int, int, int]]
    ) -> list[tuple[int, int, int]]:
        return [
            (p, a, b)
            for p, a, b in light
            if not any(abs(p - q) <= apart and a < d and c < b for q, c, d in dark)
        ]

    return Rules(
        [*rules.horizontal, *kept(light.horizontal, rules.horizontal)],
        [*rules.vertical, *kept(light.vertical, rules.vertical)],
    )


def rule_ink(gray: np.ndarray, rules: Rules, factor: float) -> list[Box]:
    """The boxes of the rules' own pixels on the page (`gray`, page px): the columns of a
    vertical rule, the rows of a horizontal one, found near where the analysis placed it
    (`factor` page px to its pixel) as those dark along most of its length."""
    pad = math.ceil(2 * factor)
    boxes = []
    for across, (at, start, end) in [
        *((False, rule) for rule in rules.horizontal),
        *((True, rule) for rule in rules.vertical),
    ]:
        plane = gray.T if across else gray  # rows of `plane` run along the rule
        low = max(0, at - pad)
        band = plane[low : at + pad + 1, max(0, start) : end] < _DARK
        if band.size == 0:
            continue
        dark = np.flatnonzero(band.mean(axis=1) >= _RULE_COVER)
        if dark.size == 0:
            continue
        # With the grey of its anti-aliased edges, which Tesseract still reads as a stroke.
        first, last = low + int(dark[0]) - _RULE_EDGE, low + int(dark[-1]) + 1 + _RULE_EDGE
        ends = (start - pad, end + pad)
        boxes.append(
            Box(first, ends[0], last, ends[1]) if across else Box(ends[0], first, ends[1], last)
        )
    return boxes


def without(gray: np.ndarray, boxes: list[Box]) -> np.ndarray:
    """The page (`gray`, page px) with `boxes` white; the page itself where there are none."""
    if not boxes:
        return gray
    clean = gray.copy()
    for b in boxes:
        clean[max(0, b.top) : max(0, b.bottom), max(0, b.left) : max(0, b.right)] = 255
    return clean


def find_grids(gray: np.ndarray, factor: float) -> list[Grid]:
    """Ruled tables: sets of at least two horizontal and two vertical rules that meet."""
    return grids(find_rules(gray, factor), touch=round(_TOUCH_PX * factor))


def grids(rules: Rules, *, touch: int) -> list[Grid]:
    """The grids that rules which meet (within `touch` px) draw, with their merged cells."""
    horizontal, vertical = rules.horizontal, rules.vertical
    parent = list(range(len(horizontal) + len(vertical)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    # Where each rule is crossed by rules the other way: a rule ends at the nearest of them.
    across_h = [
        [x for x, y0, y1 in vertical if y0 - touch <= y <= y1 + touch] for y, _, _ in horizontal
    ]
    across_v = [
        [y for y, x0, x1 in horizontal if x0 - touch <= x <= x1 + touch] for x, _, _ in vertical
    ]
    for h, (y, x0, x1) in enumerate(horizontal):
        for v, (x, y0, y1) in enumerate(vertical):
            if (
                x0 - touch <= x <= x1 + touch
                and y0 - touch <= y <= y1 + touch
                and _reaches(y, y0, y1, across_v[v], touch)
                and _reaches(x, x0, x1, across_h[h], touch)
            ):
                parent[find(h)] = find(len(horizontal) + v)
    groups: dict[int, tuple[list[int], list[int]]] = {}
    for h in range(len(horizontal)):
        groups.setdefault(find(h), ([], []))[0].append(h)
    for v in range(len(vertical)):
        groups.setdefault(find(len(horizontal) + v), ([], []))[1].append(v)
    found = []
    for hs, vs in groups.values():
        if _draws_cells([horizontal[h] for h in hs], [vertical[v] for v in vs], touch):
            grid = _grid([horizontal[h] for h in hs], [vertical[v] for v in vs], touch)
            if grid is not None:
                found.append(grid)
    return sorted(found, key=lambda g: (g.box.top, g.box.left))


def _reaches(at: int, start: int, end: int, crossings: list[int], touch: int) -> bool:
    """Whether a rule from `start` to `end` meets the rule across it at `at`: past one of
    its ends only if no other rule across it, at that end and apart from the one at `at`,
    is where it stops. A box's side that stops at the box's own bottom rule does not also
    meet the top rule of a table set just below the box."""
    if at < start:
        return not any(at + touch < c <= start + touch for c in crossings)
    if at > end:
        return not any(end - touch <= c < at - touch for c in crossings)
    return True


def _draws_cells(
    horizontal: list[tuple[int, int, int]], vertical: list[tuple[int, int, int]], touch: int
) -> bool:
    """Whether rules that meet draw a table: two of each way, or, for a table with no frame
    round it, one rule between its columns crossing three rules between its rows (or one
    between its rows crossing three between its columns), well inside their ends."""
    if len(horizontal) >= 2 and len(vertical) >= 2:
        return True
    margin = 3 * touch
    if len(vertical) == 1 and len(horizontal) >= 3:
        x = vertical[0][0]
        return min(h[1] for h in horizontal) < x - margin and x + margin < max(
            h[2] for h in horizontal
        )
    if len(horizontal) == 1 and len(vertical) >= 3:
        y = horizontal[0][0]
        return min(v[1] for v in vertical) < y - margin and y + margin < max(v[2] for v in vertical)
    return False


def _positions(values: list[int], merge: int) -> list[int]:
    """Sorted positions, those within `merge` of the one before taken as the same."""
    result: list[int] = []
    for value in sorted(values):
        if result and value - result[-1] <= merge:
            continue
        result.append(value)
    return result


def _grid(
    horizontal: list[tuple[int, int, int]], vertical: list[tuple[int, int, int]], touch: int
) -> Grid | None:
    """A grid's row and column boundaries, and the cells merged where a rule stops short."""
    rows = _positions([y for y, _, _ in horizontal], touch)
    columns = _positions([x for x, _, _ in vertical], touch)
    # Rules that run past the outermost ones close an open side: a table whose columns are
    # ruled but whose bottom rule is missing still has a last row.
    top, bottom = min(v[1] for v in vertical), max(v[2] for v in vertical)
    left, right = min(h[1] for h in horizontal), max(h[2] for h in horizontal)
    rows = [*([top] if top < rows[0] - 3 * touch else []), *rows]
    rows = [*rows, *([bottom] if bottom > rows[-1] + 3 * touch else [])]
    columns = [*([left] if left < columns[0] - 3 * touch else []), *columns]
    columns = [*columns, *([right] if right > columns[-1] + 3 * touch else [])]
    if len(rows) < 2 or len(columns) < 2:
        return None

    def ruled(rules: list[tuple[int, int, int]], at: int, start: int, end: int) -> bool:
        middle = (start + end) / 2
        return any(abs(p - at) <= touch and a - touch <= middle <= b + touch for p, a, b in rules)

    cells = [(r, c) for r in range(len(rows) - 1) for c in range(len(columns) - 1)]
    owner = {cell: cell for cell in cells}

    def find(cell: tuple[int, int]) -> tuple[int, int]:
        while owner[cell] != cell:
            cell = owner[cell]
        return cell

    for r, c in cells:
        if c + 1 < len(columns) - 1 and not ruled(vertical, columns[c + 1], rows[r], rows[r + 1]):
            owner[find((r, c + 1))] = find((r, c))
        if r + 1 < len(rows) - 1 and not ruled(horizontal, rows[r + 1], columns[c], columns[c + 1]):
            owner[find((r + 1, c))] = find((r, c))
    return Grid(
        Box(columns[0], rows[0], columns[-1], rows[-1]),
        tuple(rows),
        tuple(columns),
        _spans(cells, find),
    )


def _spans(
    cells: list[tuple[int, int]], find: Callable[[tuple[int, int]], tuple[int, int]]
) -> tuple[Span, ...]:
    """The merged cells: each group of cells joined where no rule divides them."""
    groups: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for cell in cells:
        groups.setdefault(find(cell), []).append(cell)
    spans = []
    for members in groups.values():
        if len(members) > 1:
            r0, c0 = min(r for r, _ in members), min(c for _, c in members)
            r1, c1 = max(r for r, _ in members), max(c for _, c in members)
            spans.append(Span(r0, c0, r1 - r0 + 1, c1 - c0 + 1))
    return tuple(sorted(spans, key=lambda s: (s.row, s.column)))


def find_figures(
    gray: np.ndarray, factor: float, *, exclude: list[Box], min_size: int
) -> list[Box]:
    """Regions of ink that are not words or tables: photos, drawings, diagrams (page px)."""
    # Ink is what is clearly darker than the paper, whose shade varies from scan to scan.
    paper = float(np.percentile(gray, 90))
    ink = gray < paper - _INK_CONTRAST
    for box in exclude:
        # Words and tables are blanked, with a margin for the halo of glyph edges.
        x0, y0 = int(box.left / factor) - 2, int(box.top / factor) - 2
        x1, y1 = int(box.right / factor) + 3, int(box.bottom / factor) + 3
        ink[max(0, y0) : max(0, y1), max(0, x0) : max(0, x1)] = False
    rows, cols = ink.shape[0] // _FIGURE_CELL, ink.shape[1] // _FIGURE_CELL
    if rows == 0 or cols == 0:
        return []
    cells = (
        ink[: rows * _FIGURE_CELL, : cols * _FIGURE_CELL]
        .reshape(rows, _FIGURE_CELL, cols, _FIGURE_CELL)
        .mean(axis=(1, 3))
        > _FIGURE_INK
    )
    minimum = max(min_size / factor, _FIGURE_MIN_INCHES * ANALYSIS_DPI) / _FIGURE_CELL
    figures = []
    for r0, c0, r1, c1, filled in components(cells):
        height, width = r1 - r0 + 1, c1 - c0 + 1
        # A picture fills much of its outline; scattered specks and stray marks do not.
        if height < minimum or width < minimum or filled < 0.35 * height * width:
            continue
        if _hollow(cells[r0 : r1 + 1, c0 : c1 + 1], filled):
            continue  # a frame round text, its title bar and all: a box, not a picture
        scale = _FIGURE_CELL * factor
        box = Box(
            round(c0 * scale), round(r0 * scale), round((c1 + 1) * scale), round((r1 + 1) * scale)
        )
        # A region that is largely words is text on a tinted or noisy ground, not a picture.
        if sum(box.overlap(b) for b in exclude) < _TEXT_SHARE * box.area:
            figures.append(box)
    return sorted(figures, key=lambda b: (b.top, b.left))


def _hollow(cells: np.ndarray, filled: int) -> bool:
    """Whether a region's ink lies round its edges, its middle half all but empty: a frame
    (a listing's box, its title bar across the top) whose text is blanked out as words."""
    height, width = cells.shape
    middle = cells[height // 4 : height - height // 4, width // 4 : width - width // 4]
    return middle.size > 0 and float(middle.mean()) < _HOLLOW * filled / cells.size


def components(cells: np.ndarray) -> list[tuple[int, int, int, int, int]]:
    """Bounding boxes (r0, c0, r1, c1) and sizes of 8-connected groups of True cells."""
    seen = np.zeros_like(cells, dtype=bool)
    rows, cols = cells.shape
    found = []
    for r, c in zip(*np.nonzero(cells), strict=True):
        if seen[r, c]:
            continue
        seen[r, c] = True
        queue = deque([(int(r), int(c))])
        r0 = r1 = int(r)
        c0 = c1 = int(c)
        size = 0
        while queue:
            y, x = queue.popleft()
            size += 1
            r0, r1, c0, c1 = min(r0, y), max(r1, y), min(c0, x), max(c1, x)
            for dy in (-1, 0, 1):
                for dx in (-1, 0, 1):
                    ny, nx = y + dy, x + dx
                    if 0 <= ny < rows and 0 <= nx < cols and cells[ny, nx] and not seen[ny, nx]:
                        seen[ny, nx] = True
                        queue.append((ny, nx))
        found.append((r0, c0, r1, c1, size))
    return found
