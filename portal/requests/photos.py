"""Photos from residents: checked by content, size-limited, re-encoded without metadata.

Re-encoding drops EXIF (GPS position, camera serials) and any payload hidden after the image
data; orientation from EXIF is applied first so the picture stays upright. Files are stored
under ``settings.upload_dir`` with random names.
"""

from __future__ import annotations

import io
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from PIL import Image, ImageOps, UnidentifiedImageError

from portal.core.config import Settings

ACCEPTED_FORMATS = {"JPEG", "PNG", "GIF", "WEBP", "MPO"}
MAX_SIDE = 2048


class PhotoError(ValueError):
    """An upload that is not an acceptable photo. ``code`` says why."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code  # not_image | too_large | too_many_pixels | empty


@dataclass(frozen=True)
class StoredPhoto:
    storage_key: str
    width: int
    height: int
    size_bytes: int


def store_photo(stream: BinaryIO, *, settings: Settings) -> StoredPhoto:
    """Validate and re-encode an uploaded image to JPEG; raise ``PhotoError`` if unacceptable."""
    data = stream.read(settings.max_photo_bytes + 1)
    if not data:
        raise PhotoError("empty")
    if len(data) > settings.max_photo_bytes:
        raise PhotoError("too_large")
    # Pillow's own bomb check stays as a backstop at twice our limit.
    Image.MAX_IMAGE_PIXELS = settings.max_image_pixels
    # Opened as an ImageFile, then replaced by plain Images (transposed, flattened).
    image: Image.Image
    try:
        with Image.open(io.BytesIO(data)) as probe:
            if probe.format not in ACCEPTED_FORMATS:
                raise PhotoError("not_image")
            if probe.width * probe.height > settings.max_image_pixels:
                raise PhotoError("too_many_pixels")
            probe.verify()
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            image = ImageOps.exif_transpose(image)
            if image.mode not in ("RGB", "L"):
                background = Image.new("RGB", image.size, (255, 255, 255))
                rgba = image.convert("RGBA")
                background.paste(rgba, mask=rgba.getchannel("A"))
                image = background
            image.thumbnail((MAX_SIDE, MAX_SIDE))
            out = io.BytesIO()
            image.save(out, format="JPEG", quality=85, optimize=True)
    except PhotoError:
        raise
    except Image.DecompressionBombError as exc:
        raise PhotoError("too_many_pixels") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise PhotoError("not_image") from exc
    encoded = out.getvalue()
    key = f"{secrets.token_hex(16)}.jpg"
    folder = Path(settings.upload_dir)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / key).write_bytes(encoded)
    return StoredPhoto(key, image.width, image.height, len(encoded))


def photo_path(settings: Settings, storage_key: str) -> Path:
    """Where a stored photo lives (keys are generated, never taken from user input)."""
    if "/" in storage_key or "\\" in storage_key or storage_key.startswith("."):
        raise ValueError("bad storage key")
    return Path(settings.upload_dir) / storage_key


def delete_photo_file(settings: Settings, storage_key: str) -> None:
    photo_path(settings, storage_key).unlink(missing_ok=True)
