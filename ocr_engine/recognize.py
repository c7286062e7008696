"""Tesseract itself, behind one small interface with two backends.

- `tesserocr`: Tesseract's C++ API in this process; handles stay initialised per language set,
  so a page costs recognition only.
- `pytesseract`: one `tesseract` process per page; slower, but only needs the CLI.

Both return Tesseract's TSV (level, page, block, paragraph, line, word, box, conf, text), so
everything downstream is one code path.
"""

from __future__ import annotations

import logging
import subprocess
from collections import OrderedDict
from pathlib import Path
from typing import Any, Protocol

from PIL import Image

from .errors import InternalError, PageFailed, PageTimeout

log = logging.getLogger(__name__)

TESSEROCR = "tesserocr"
PYTESSERACT = "pytesseract"
BACKENDS = (TESSEROCR, PYTESSERACT)

# Handles kept warm per worker; each costs tens of MB per language.
_MAX_WARM_HANDLES = 4
_TSV_HEADER = "level\tpage_num"
# Tesseract keeps boxes in 16 bits and refuses a page longer than this on a side ("Image too
# large", which tesserocr reports as "No image set?"): a scroll, a banner, a strip of labels.
# Such a page is read scaled to fit, its boxes given back in its own pixels.
MAX_SIDE = 32767
_BOX_COLUMNS = slice(6, 10)
# What a page Tesseract refuses is told, on either backend; its own words go to the log.
_REFUSED = "Tesseract could not read the page; it may need more memory than a worker may use."
_NO_COMMAND = "The tesseract command is gone from this server's PATH; `tessera doctor` tells more."


class Recognizer(Protocol):
    def warm(self, languages: str) -> None: ...

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
        """Recognise a grayscale page; Tesseract's TSV without its header line. With `block`,
        the image is read as one uniform block of lines, without looking for columns; with
        `digits`, as holding nothing but digits (a column of line numbers)."""
        ...

    def orientation(
        self, image: Image.Image, *, dpi: int | None, timeout: float
    ) -> tuple[int, float] | None:
        """Tesseract's OSD: how far the text is turned (0, 90, 180, 270) and its confidence."""
        ...

    def close(self) -> None: ...


def fitted(image: Image.Image, dpi: int | None) -> tuple[Image.Image, int | None, float]:
    """The image as Tesseract can take it (at most `MAX_SIDE` pixels on a side), its
    resolution at that size, and the scale it was drawn at (1.0: as it is)."""
    longest = max(image.size)
    if longest <= MAX_SIDE:
        return image, dpi, 1.0
    scale = MAX_SIDE / longest
    size = (max(1, int(image.width * scale)), max(1, int(image.height * scale)))
    return (
        image.resize(size, Image.Resampling.LANCZOS),
        max(1, round(dpi * scale)) if dpi else None,
        scale,
    )


def scaled_tsv(tsv: str, factor: float) -> str:
    """Tesseract's TSV with every box (left, top, width, height) scaled by `factor`."""
    rows = []
    for row in tsv.splitlines():
        cols = row.split("\t")
        if len(cols) >= 10:
            try:
                left, top, width, height = (int(c) for c in cols[_BOX_COLUMNS])
            except ValueError:
                rows.append(row)
                continue
            right, bottom = round((left + width) * factor), round((top + height) * factor)
            left, top = round(left * factor), round(top * factor)
            cols[_BOX_COLUMNS] = [str(left), str(top), str(right - left), str(bottom - top)]
            row = "\t".join(cols)
        rows.append(row)
    return "\n".join(rows)


class TesserocrRecognizer:
    """Tesseract in-process through tesserocr, one warm handle per language set."""

    def __init__(self, tessdata: str) -> None:
        self._tessdata = tessdata if tessdata.endswith("/") else tessdata + "/"
        self._handles: OrderedDict[str, object] = OrderedDict()
        self._osd: Any = None

    def _handle(self, languages: str) -> Any:  # a tesserocr.PyTessBaseAPI
        import tesserocr

        api = self._handles.get(languages)
        if api is not None:
            self._handles.move_to_end(languages)
            return api
        try:
            api = tesserocr.PyTessBaseAPI(
                path=self._tessdata,
                lang=languages,
                psm=tesserocr.PSM.AUTO,
                oem=tesserocr.OEM.DEFAULT,
            )
        except RuntimeError as e:
            raise InternalError(f"Tesseract could not load the languages '{languages}'.") from e
        self._handles[languages] = api
        while len(self._handles) > _MAX_WARM_HANDLES:
            _, oldest = self._handles.popitem(last=False)
            oldest.End()  # type: ignore[attr-defined]
        return api

    def warm(self, languages: str) -> None:
        self._handle(languages)

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
        import tesserocr

        # The in-process call cannot be interrupted from here; the pool enforces the timeout
        # by killing the worker.
        api = self._handle(languages)
        image, dpi, scale = fitted(image, dpi)
        try:
            if block:
                api.SetPageSegMode(tesserocr.PSM.SINGLE_BLOCK)
            if digits:
                api.SetVariable("tessedit_char_whitelist", _DIGITS)
            _set_image(api, image)
            if dpi:
                api.SetSourceResolution(dpi)
            api.Recognize()
            text = api.GetTSVText(0) or ""
            return text if scale == 1.0 else scaled_tsv(text, 1 / scale)
        except RuntimeError as e:
            # Tesseract's allocation failures surface here ("No image set?") under a memory cap.
            log.warning("tesseract refused a page: %s", e)
            raise PageFailed(_REFUSED, param="document") from e
        finally:
            api.Clear()
            if block:
                api.SetPageSegMode(tesserocr.PSM.AUTO)
            if digits:
                api.SetVariable("tessedit_char_whitelist", "")

    def orientation(
        self, image: Image.Image, *, dpi: int | None, timeout: float
    ) -> tuple[int, float] | None:
        import tesserocr

        if self._osd is None:
            if not (Path(self._tessdata) / "osd.traineddata").exists():
                return None
            self._osd = tesserocr.PyTessBaseAPI(
                path=self._tessdata, lang="osd", psm=tesserocr.PSM.OSD_ONLY
            )
        image, dpi, _ = fitted(image, dpi)
        try:
            _set_image(self._osd, image)
            if dpi:
                self._osd.SetSourceResolution(dpi)
            found = self._osd.DetectOrientationScript()
        except RuntimeError:
            return None  # too little text to tell
        finally:
            self._osd.Clear()
        if not found:
            return None
        return int(found["orient_deg"]), float(found["orient_conf"])

    def close(self) -> None:
        for api in self._handles.values():
            api.End()  # type: ignore[attr-defined]
        self._handles.clear()
        if self._osd is not None:
            self._osd.End()
            self._osd = None


_DIGITS = "0123456789"

# Bytes per pixel of the modes handed over as they are; any other goes through SetImage.
_PIXEL_BYTES = {"L": 1, "RGB": 3}


def _set_image(api: Any, image: Image.Image) -> None:
    """Give Tesseract the image's pixels as they lie in memory.

    tesserocr's `SetImage` encodes an image opened from a file (a PNG upload read as it is) to
    a file format for Leptonica to decode again: about 85 ms for a 1600 x 2000 page, 7 % of
    its whole reading. The raw pixels are the same image, read the same, word for word.
    """
    depth = _PIXEL_BYTES.get(image.mode)
    if depth is None:
        api.SetImage(image)
        return
    api.SetImageBytes(image.tobytes(), image.width, image.height, depth, depth * image.width)


class PytesseractRecognizer:
    """The `tesseract` CLI through pytesseract, one process per page."""

    def __init__(self, tessdata: str) -> None:
        self._tessdata = tessdata

    def warm(self, languages: str) -> None:
        pass  # nothing stays loaded between pages

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
        import pytesseract

        image, dpi, scale = fitted(image, dpi)
        config = f"--tessdata-dir {self._tessdata} --psm {6 if block else 3} --oem 3"
        if digits:
            config += f" -c tessedit_char_whitelist={_DIGITS}"
        if dpi:
            config += f" --dpi {dpi}"
        try:
            text: str = pytesseract.image_to_data(
                image, lang=languages, config=config, timeout=timeout
            )
        except pytesseract.TesseractError as e:
            # A subclass of RuntimeError, which pytesseract also raises for a timeout: told
            # apart first, so that a page Tesseract refuses is not reported as a timeout.
            log.warning("tesseract refused a page: %s", e)
            raise PageFailed(_REFUSED, param="document") from e
        except RuntimeError as e:  # pytesseract's way of saying the timeout passed
            raise PageTimeout(f"Tesseract took longer than {timeout:.0f} s on the page.") from e
        except pytesseract.TesseractNotFoundError as e:  # an OSError: its words name a README
            raise InternalError(_NO_COMMAND) from e
        except (subprocess.SubprocessError, OSError) as e:
            raise InternalError(f"The tesseract command failed: {e}") from e
        if text.startswith(_TSV_HEADER):
            text = text.split("\n", 1)[1] if "\n" in text else ""
        return text if scale == 1.0 else scaled_tsv(text, 1 / scale)

    def orientation(
        self, image: Image.Image, *, dpi: int | None, timeout: float
    ) -> tuple[int, float] | None:
        import pytesseract

        if not (Path(self._tessdata) / "osd.traineddata").exists():
            return None
        image, dpi, _ = fitted(image, dpi)
        config = f"--tessdata-dir {self._tessdata} --psm 0"
        if dpi:
            config += f" --dpi {dpi}"
        try:
            text = pytesseract.image_to_osd(image, config=config, timeout=timeout)
        except pytesseract.TesseractError:  # before RuntimeError, its base: see tsv
            return None  # too little text to tell
        except RuntimeError as e:
            raise PageTimeout(f"Tesseract took longer than {timeout:.0f} s on the page.") from e
        except pytesseract.TesseractNotFoundError as e:
            raise InternalError(_NO_COMMAND) from e
        found = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
        try:
            return (
                int(found["Orientation in degrees"].strip()),
                float(found["Orientation confidence"].strip()),
            )
        except (KeyError, ValueError):
            return None

    def close(self) -> None:
        pass


def make_recognizer(backend: str, tessdata: str) -> Recognizer:
    """The recognizer for a backend name."""
    if backend == TESSEROCR:
        return TesserocrRecognizer(tessdata)
    if backend == PYTESSERACT:
        return PytesseractRecognizer(tessdata)
    raise ValueError(f"unknown OCR backend {backend!r}; choose one of {', '.join(BACKENDS)}")
