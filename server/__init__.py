"""Tessera's HTTP service: Mistral's OCR API and Bifrost's async jobs over the OCR core."""

from importlib import metadata

try:
    # The one place the version is written is pyproject.toml; an installed copy knows it.
    __version__ = metadata.version("tessera-ocr")
except metadata.PackageNotFoundError:  # pragma: no cover - running from a bare checkout
    __version__ = "unknown"
