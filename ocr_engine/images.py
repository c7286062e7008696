"""Raster images to the grayscale page Tesseract reads. Runs inside worker processes only."""

from __future__ import annotations

import os
import struct
import warnings
from dataclasses import dataclass

from PIL import ExifTags, Image, ImageOps, TiffImagePlugin, UnidentifiedImageError

from .errors import DocumentTooLarge, UnprocessableDocument

# A frame per page only where the format means pages by it; GIF and WebP frames are animation.
_PAGED_FORMATS = {"TIFF"}
# Pillow reaches a TIFF's frame by walking the chain of frames before it, checking each
# against a list of those seen: time in the square of their number. 40,000 small frames (4 MB)
# took 17 s to count, and a frame near the end of a 50 MB file longer than a page may take,
# for each page selected. No scan runs to this many pages.
MAX_FRAMES = 10_000
_PLAUSIBLE_DPI = range(50, 2401)  # a resolution outside it is a mistake, not a scan's
# The resolution of a page that declares none (or none that is plausible), in every output:
# the PDF convention of a pixel a point.
DEFAULT_DPI = 72
# Marks on a ground: at least this share of pixels this many levels from its common level.
_INK_SHARE = 0.001
_INK_CONTRAST = 96
# What Pillow's decoders raise on malformed files: a hostile file can reach any of them.
_DECODE_ERRORS = (
    OSError,
    ValueError,
    SyntaxError,
    EOFError,
    TypeError,
    KeyError,
    IndexError,
    AttributeError,
    ZeroDivisionError,
    struct.error,
)


def set_pixel_limit(max_pixels: int) -> None:
    """Make Pillow refuse images past `max_pixels` instead of allocating them."""
    Image.MAX_IMAGE_PIXELS = max_pixels
    # Pillow only warns between the limit and twice it; a warning here is a refusal.
    warnings.simplefilter("error", Image.DecompressionBombWarning)


def _open(path: str) -> Image.Image:
    try:
        return Image.open(path)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise UnprocessableDocument(
            f"The image has more pixels than the limit of {Image.MAX_IMAGE_PIXELS}.",
            param="document",
        ) from e
    except UnidentifiedImageError as e:
        # Its first bytes named a supported format, so the file is damaged, not foreign.
        raise UnprocessableDocument(
            "The image is damaged: its format cannot be read past its header.", param="document"
        ) from e
    except _DECODE_ERRORS as e:
        raise UnprocessableDocument(
            "The image cannot be decoded: its header is damaged.", param="document"
        ) from e


def _undecodable(image: Image.Image) -> UnprocessableDocument:
    """Why an image that opened cannot be read, in words (never a decoder's raw message,
    which may be a bare number or a class name)."""
    compression = _tiff_compression(image)
    if compression is not None and compression not in TiffImagePlugin.COMPRESSION_INFO:
        return UnprocessableDocument(
            f"The TIFF uses compression scheme {compression}, which is not supported; save it "
            "uncompressed or with LZW, Deflate, PackBits, CCITT G3/G4 or JPEG compression.",
            param="document",
        )
    kind = image.format or "image"
    return UnprocessableDocument(
        f"The {kind} image cannot be decoded: it is damaged or uses a "
        f"variant of {kind} that is not supported.",
        param="document",
    )


def _tiff_compression(image: Image.Image) -> int | None:
    tags = getattr(image, "tag_v2", None)
    try:
        value = tags.get(TiffImagePlugin.COMPRESSION) if tags is not None else None
        return int(value) if value is not None else None
    except _DECODE_ERRORS:
        return None


def frame_count(path: str) -> int:
    """How many pages an image file holds."""
    with _open(path) as image:
        return _pages(image, path)


def _pages(image: Image.Image, path: str) -> int:
    if image.format not in _PAGED_FORMATS:
        return 1
    if _tiff_frames(path, MAX_FRAMES + 1) > MAX_FRAMES:
        raise DocumentTooLarge(
            f"The TIFF has more than {MAX_FRAMES} frames; split it into files of fewer.",
            param="document",
        )
    try:
        return int(getattr(image, "n_frames", 1))
    except _DECODE_ERRORS as e:
        raise _undecodable(image) from e


def _tiff_frames(path: str, limit: int) -> int:
    """How many frames a TIFF's chain of IFDs links, counted up to `limit`: each IFD's entry
    count and link read, nothing else, so the count costs time in the number of frames.
    Pillow follows the same links and stops where this does (at a link past the file's end
    or back to an IFD already seen) or sooner, so it never finds more."""
    with open(path, "rb") as f:
        head = f.read(16)
        order = "<" if head[:2] == b"II" else ">"
        size = os.fstat(f.fileno()).st_size
        try:
            big = struct.unpack_from(order + "H", head, 2)[0] == 43  # BigTIFF
            link, count_size, entry_size = ("Q", "Q", 20) if big else ("I", "H", 12)
            offset = struct.unpack_from(order + link, head, 8 if big else 4)[0]
        except struct.error:
            return 0
        seen: set[int] = set()
        while 0 < offset < size and offset not in seen and len(seen) < limit:
            seen.add(offset)
            f.seek(offset)
            raw = f.read(struct.calcsize(count_size))
            if len(raw) < struct.calcsize(count_size):
                break
            entries = struct.unpack(order + count_size, raw)[0]
            f.seek(offset + len(raw) + entries * entry_size)
            raw = f.read(struct.calcsize(link))
            if len(raw) < struct.calcsize(link):
                break
            offset = struct.unpack(order + link, raw)[0]
        return len(seen)


@dataclass(frozen=True)
class Declared:
    """What a page of an image file says of itself."""

    dpi: int | None  # its resolution, where it declares a plausible one
    orientation: int  # its EXIF orientation, 1 (as stored) where it declares none


# The EXIF orientations Pillow's `exif_transpose`, which pages are read through, acts on.
_ORIENTATIONS = frozenset(range(1, 9))


def exif_orientation(image: Image.Image) -> int:
    """The image's EXIF orientation as its page is read: one `exif_transpose` acts on, else
    1. A value of another type (text, bytes, a fraction) leaves the image as stored."""
    value = image.getexif().get(ExifTags.Base.Orientation, 1)
    try:
        return int(value) if value in _ORIENTATIONS else 1
    except TypeError:  # unhashable
        return 1


def declared(path: str) -> list[Declared]:
    """What each page of an image file declares; nothing for a frame that cannot be told
    (decoding it says why)."""
    frames: list[Declared] = []
    with _open(path) as image:
        for index in range(_pages(image, path)):
            try:
                image.seek(index)
                frames.append(Declared(_declared_dpi(image), exif_orientation(image)))
            except _DECODE_ERRORS:
                frames.append(Declared(None, 1))
    return frames


def load_frame(path: str, index: int) -> tuple[Image.Image, int | None]:
    """Page `index` of an image file, upright and in 8-bit grayscale, and its declared DPI."""
    with _open(path) as image:
        try:
            if index:
                image.seek(index)
            image.load()
            dpi = _declared_dpi(image)
            return to_gray(ImageOps.exif_transpose(image)), dpi
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
            raise UnprocessableDocument(
                f"The image has more pixels than the limit of {Image.MAX_IMAGE_PIXELS}.",
                param="document",
            ) from e
        except _DECODE_ERRORS as e:
            raise _undecodable(image) from e


def to_gray(image: Image.Image) -> Image.Image:
    """Flatten transparency onto white and reduce any mode to 8-bit grayscale."""
    image = flatten(image)
    return image if image.mode == "L" else image.convert("L")


def flatten(image: Image.Image) -> Image.Image:
    """The image as a PDF or Tesseract takes it: bilevel, 8-bit gray or RGB, with transparency
    flattened onto white and deep images (16-bit scans, float TIFFs) in 8 bits."""
    if image.mode in ("1", "L", "RGB"):
        return image
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    if image.mode in ("RGBA", "LA", "PA", "La", "RGBa"):
        rgba = image.convert("RGBA")
        on_white = _matted(rgba, 255)
        if _has_ink(on_white.convert("L")) or not _has_ink(rgba.getchannel("A")):
            return on_white
        # Light marks meant for a dark backdrop (white text on transparency): only a dark
        # matte shows them.
        return _matted(rgba, 0)
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        # Scaled to 8 bits, not clipped.
        if image.mode.startswith("I;16"):
            return image.convert("I").point(lambda v: v / 256).convert("L")
        return image.convert("L")
    return image if image.mode in ("L", "RGB") else image.convert("RGB")


def _matted(rgba: Image.Image, level: int) -> Image.Image:
    background = Image.new("RGBA", rgba.size, (level, level, level, 255))
    background.alpha_composite(rgba)
    return background.convert("RGB")


def _has_ink(gray: Image.Image) -> bool:
    """Whether an 8-bit channel holds marks: some of it well apart from its most common level
    (a page's ground), not all one level with stray pixels."""
    histogram = gray.histogram()
    ground = max(range(256), key=histogram.__getitem__)
    apart = sum(n for level, n in enumerate(histogram) if abs(level - ground) >= _INK_CONTRAST)
    return apart >= _INK_SHARE * gray.width * gray.height


def _declared_dpi(image: Image.Image) -> int | None:
    dpi = image.info.get("dpi")
    if not dpi:
        return None
    try:
        return plausible_dpi(dpi[0])
    except (TypeError, IndexError):
        return None


def plausible_dpi(value: float) -> int | None:
    """A resolution a file declares, rounded, where a scan could have it; None for a mistake
    (0.001, 5000, a TIFF's inf or nan)."""
    try:
        dpi = round(float(value))
    except (ValueError, OverflowError):  # nan, inf
        return None
    return dpi if dpi in _PLAUSIBLE_DPI else None
