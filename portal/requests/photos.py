"""Photos from residents: checked by content, size-limited, re-encoded without metadata.

Re-encoding drops EXIF (GPS position, camera serials) and any payload hidden after the image
data; orientation from EXIF is applied first so the picture stays upright. Files are stored
under ``settings.upload_dir`` with random names.
"""

from __future__ import annotations

import io
import os
import re
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from PIL import Image, ImageOps, PngImagePlugin, UnidentifiedImageError

from portal.core.config import Settings

ACCEPTED_FORMATS = {"JPEG", "PNG", "GIF", "WEBP", "MPO"}
#: The decoders Pillow may try (an MPO is found by the JPEG one); no other format is parsed.
OPEN_FORMATS = ("JPEG", "PNG", "GIF", "WEBP")
MAX_SIDE = 2048
#: A JPEG is decoded at 1/2, 1/4 or 1/8 scale (libjpeg's DCT scaling: "draft" mode), so what a
#: single-scan (baseline) one costs follows the reduced size: it may have this many times
#: ``max_image_pixels``. One in several scans (progressive, or sequential with a scan per
#: colour) makes libjpeg hold every coefficient of the full image (3 to 8 bytes a pixel), so it
#: gets twice the limit, not more.
JPEG_PIXELS_FACTOR = 8
MULTI_SCAN_PIXELS_FACTOR = 2
#: Decodes at a time in one process: a threaded worker never holds more than one photo's
#: memory at once; a request waits this long for its turn, then is told to try again.
_DECODES = threading.BoundedSemaphore(1)
DECODE_WAIT_SECONDS = 20.0

# PNG text chunks are decompressed when the file is opened: 1 MB each, 4 MB in all is plenty.
PngImagePlugin.MAX_TEXT_CHUNK = 1024 * 1024
PngImagePlugin.MAX_TEXT_MEMORY = 4 * 1024 * 1024


class PhotoError(ValueError):
    """An upload that is not an acceptable photo. ``code`` says why; for ``too_many_pixels``,
    ``width``, ``height`` and ``max_pixels`` say by how much."""

    def __init__(self, code: str, *, width: int = 0, height: int = 0, max_pixels: int = 0) -> None:
        super().__init__(code)
        self.code = code  # not_image | too_large | too_many_pixels | empty | busy
        self.width = width
        self.height = height
        self.max_pixels = max_pixels


@dataclass(frozen=True)
class StoredPhoto:
    storage_key: str
    width: int
    height: int
    size_bytes: int
    #: ``perceptual_hash`` of the picture (None if it could not be computed).
    phash: str | None = None


def pixel_limit(image: Image.Image, settings: Settings, *, multi_scan: bool = False) -> int:
    """The most pixels an image of this kind may have: ``settings.max_image_pixels`` for the
    formats decoded at full size (PNG, GIF, WebP), more for a JPEG (see ``JPEG_PIXELS_FACTOR``);
    ``multi_scan``: the JPEG has more than one scan (``jpeg_scans``)."""
    if image.format in ("JPEG", "MPO"):
        if image.info.get("progressive") or image.info.get("progression") or multi_scan:
            return settings.max_image_pixels * MULTI_SCAN_PIXELS_FACTOR
        return settings.max_image_pixels * JPEG_PIXELS_FACTOR
    return settings.max_image_pixels


_JPEG_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")
_SOS, _EOI = 0xDA, 0xD9
_STANDALONE = {0x01, *range(0xD0, 0xDA)}


def jpeg_scans(data: bytes) -> int:
    """How many scans (SOS segments) the first image of a JPEG has, reading the markers only:
    segments are skipped by their length (so an EXIF thumbnail inside APP1 is not counted) and
    entropy-coded data is skipped to the next marker. 0 if ``data`` is not a JPEG."""
    if not data.startswith(b"\xff\xd8"):
        return 0
    scans, pos, size = 0, 2, len(data)
    while pos + 4 <= size:
        if data[pos] != 0xFF:
            return scans  # not where a marker should be: let the decoder judge it
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == _EOI:
            return scans
        if marker in _STANDALONE:
            pos += 2
            continue
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        pos += 2 + length
        if marker == _SOS:
            scans += 1
            found = _JPEG_MARKER.search(data, pos)
            if found is None:
                return scans
            pos = found.start()
    return scans


def store_photo(stream: BinaryIO, *, settings: Settings) -> StoredPhoto:
    """Validate and re-encode an uploaded image to JPEG; raise ``PhotoError`` if unacceptable.

    The image's size is read from its header and checked against ``pixel_limit`` before a pixel
    is decoded; a JPEG is decoded at the smallest scale that still gives ``MAX_SIDE``; the
    picture is made small before it is turned upright and flattened, so no full-size copy is
    made; and one decode runs at a time in a process.
    """
    data = stream.read(settings.max_photo_bytes + 1)
    if not data:
        raise PhotoError("empty")
    if len(data) > settings.max_photo_bytes:
        raise PhotoError("too_large")
    if not _DECODES.acquire(timeout=DECODE_WAIT_SECONDS):
        raise PhotoError("busy")
    try:
        image = _reencoded(data, settings)
    finally:
        _DECODES.release()
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=85, optimize=True)
    encoded = out.getvalue()
    key = f"{secrets.token_hex(16)}.jpg"
    folder = Path(settings.upload_dir)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / key).write_bytes(encoded)
    return StoredPhoto(key, image.width, image.height, len(encoded), perceptual_hash(image))


#: pHash is computed on a copy this small (it reads a 32 x 32 grey picture anyway).
_HASH_SIDE = 256


def perceptual_hash(image: Image.Image) -> str | None:
    """The picture's perceptual hash (ImageHash's pHash: the signs of the low frequencies of
    a 32 x 32 grey copy's DCT), 64 bits as 16 hex digits. The same scene re-encoded, resized
    or cropped by a few percent differs by a few bits (``hash_distance``); different scenes by
    about half of them. None when the picture cannot be hashed (never fails a photo)."""
    import imagehash  # scipy's DCT: imported on the first photo, not with the app

    try:
        small = image.copy()
        small.thumbnail((_HASH_SIDE, _HASH_SIDE))
        return str(imagehash.phash(small))
    except (ValueError, OSError):
        return None


def hash_distance(first: str, second: str) -> int:
    """How many of the 64 bits two ``perceptual_hash`` values differ in (64 if unreadable)."""
    try:
        return (int(first, 16) ^ int(second, 16)).bit_count()
    except ValueError:
        return 64


def _reencoded(data: bytes, settings: Settings) -> Image.Image:
    """The photo in ``data``, at most ``MAX_SIDE`` on a side, upright, RGB or L."""
    image: Image.Image
    try:
        with Image.open(io.BytesIO(data), formats=OPEN_FORMATS) as probe:
            if probe.format not in ACCEPTED_FORMATS:
                raise PhotoError("not_image")
            multi_scan = probe.format in ("JPEG", "MPO") and jpeg_scans(data) > 1
            limit = pixel_limit(probe, settings, multi_scan=multi_scan)
            if probe.width * probe.height > limit:
                raise PhotoError(
                    "too_many_pixels", width=probe.width, height=probe.height, max_pixels=limit
                )
            probe.verify()
        with Image.open(io.BytesIO(data), formats=OPEN_FORMATS) as image:
            if image.format in ("JPEG", "MPO"):
                # Decode at 1/2, 1/4 or 1/8 scale when that still gives MAX_SIDE.
                scale = max(image.width, image.height) / MAX_SIDE
                if scale > 1:
                    image.draft(None, (int(image.width / scale), int(image.height / scale)))
            image.load()
            # Small first (reduce, then resample), so the steps below copy only the small one.
            image.thumbnail((MAX_SIDE, MAX_SIDE))
            image = ImageOps.exif_transpose(image)
            if image.mode not in ("RGB", "L"):
                background = Image.new("RGB", image.size, (255, 255, 255))
                rgba = image.convert("RGBA")
                background.paste(rgba, mask=rgba.getchannel("A"))
                image = background
    except PhotoError:
        raise
    except Image.DecompressionBombError as exc:
        raise PhotoError("too_many_pixels") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise PhotoError("not_image") from exc
    return image


#: The short side of a preview: two device pixels a CSS pixel for the filing steps' 96 px
#: thumbnails (static/css/portal.css .portal-thumb), instead of the whole photo (issue 21).
THUMBNAIL_SIDE = 192
#: The widths a photo is shown at (``srcset``): a phone's column (400 px at 1x, 800 at 2x)
#: and a desktop's at 2x (1200); a photo narrower than one is offered at its own width.
DISPLAY_WIDTHS = (400, 800, 1200)
#: The sizes a stored photo may be asked for (``?size=``): ``thumb`` by its short side,
#: ``w<N>`` by its width. Anything else is not a size.
SIZES = ("thumb", *(f"w{width}" for width in DISPLAY_WIDTHS))
#: Their encodings (``?format=``): JPEG for every browser, WebP a third smaller where accepted.
FORMATS = {"jpeg": ("JPEG", "image/jpeg"), "webp": ("WEBP", "image/webp")}
#: Renditions are made once and kept beside the photos, named after the photo's key.
RENDITIONS_FOLDER = "renditions"


def rendition_size(width: int, height: int, size: str) -> tuple[int, int]:
    """The pixel size of the ``size`` rendition of a ``width`` x ``height`` photo (never
    larger than the photo). Raises ``ValueError`` for an unknown size."""
    if size == "thumb":
        scale = THUMBNAIL_SIDE / min(width, height)
    elif size in SIZES:
        scale = int(size[1:]) / width
    else:
        raise ValueError(f"not a photo size: {size!r}")
    if scale >= 1:
        return width, height
    return max(1, round(width * scale)), max(1, round(height * scale))


def display_widths(width: int) -> list[int]:
    """The ``DISPLAY_WIDTHS`` narrower than a photo ``width`` wide (the others would be the
    photo itself), for a ``srcset``."""
    return [w for w in DISPLAY_WIDTHS if w < width]


def _resized(path: Path, size: str, fmt: str) -> bytes:
    """The stored photo at ``path`` (one this module re-encoded, so trusted and at most
    ``MAX_SIDE`` on a side) at ``size`` (``rendition_size``), encoded as ``fmt``: a few KB
    to a few tens where the photo is hundreds."""
    with Image.open(path, formats=("JPEG",)) as image:
        target = rendition_size(image.width, image.height, size)
        if target != image.size:
            image.draft("RGB", target)  # decode at 1/2, 1/4 or 1/8 scale when that is enough
            small = image.resize(target, Image.Resampling.LANCZOS)
        else:
            small = image.copy()
    out = io.BytesIO()
    if fmt == "webp":
        # Made once and kept, so the slowest (smallest) method is worth its cost (under half
        # a second for the 1200 px copy of a 2048 px photo).
        small.save(out, format="WEBP", quality=70, method=6)
    else:
        small.save(out, format="JPEG", quality=80, optimize=True, progressive=size != "thumb")
    return out.getvalue()


def rendition_path(settings: Settings, storage_key: str, size: str, fmt: str = "jpeg") -> Path:
    """The ``size`` rendition of a stored photo, encoded as ``fmt``, made the first time it is
    asked for and kept (written whole under a temporary name, then renamed, so a reader never
    sees half of one). Raises ``ValueError`` for an unknown size, format or key and
    ``FileNotFoundError`` when the photo is gone."""
    if size not in SIZES or fmt not in FORMATS:
        raise ValueError("not a photo rendition")
    source = photo_path(settings, storage_key)
    folder = Path(settings.upload_dir) / RENDITIONS_FOLDER
    target = folder / f"{Path(storage_key).stem}-{size}.{'jpg' if fmt == 'jpeg' else fmt}"
    if target.is_file():
        return target
    data = _resized(source, size, fmt)  # FileNotFoundError when the photo is gone
    folder.mkdir(parents=True, exist_ok=True)
    temporary = folder / f".{target.name}.{secrets.token_hex(4)}"
    temporary.write_bytes(data)
    os.replace(temporary, target)
    return target


def photo_path(settings: Settings, storage_key: str) -> Path:
    """Where a stored photo lives (keys are generated, never taken from user input)."""
    if "/" in storage_key or "\\" in storage_key or storage_key.startswith("."):
        raise ValueError("bad storage key")
    return Path(settings.upload_dir) / storage_key


def delete_photo_file(settings: Settings, storage_key: str) -> None:
    """Remove a stored photo and every rendition made of it."""
    photo_path(settings, storage_key).unlink(missing_ok=True)
    folder = Path(settings.upload_dir) / RENDITIONS_FOLDER
    for rendition in folder.glob(f"{Path(storage_key).stem}-*") if folder.is_dir() else []:
        rendition.unlink(missing_ok=True)
