"""Photos: refused by their size in pixels before they are decoded, with the limit named; JPEGs
(decoded at reduced scale) may be bigger than formats decoded at full size."""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import replace

import pytest
from PIL import Image
from sqlalchemy import func, select

from portal.core.config import Settings
from portal.requests.models import RequestPhoto
from portal.requests.photos import PhotoError, jpeg_scans, pixel_limit, store_photo
from tests.requests.test_filing import Journey, city  # noqa: F401 (the fixture)


def encoded(fmt: str, size: tuple[int, int], mode: str = "RGB", **save) -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, (90, 120, 150) if mode == "RGB" else None).save(out, format=fmt, **save)
    return out.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A small, valid-looking PNG whose header says ``width`` x ``height`` (the pixels are not
    there: only the header may be read)."""
    data = bytearray(encoded("PNG", (8, 8)))
    ihdr = struct.pack(">II", width, height) + bytes(data[24:29])
    data[16:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return bytes(data)


def test_the_default_limit_refuses_the_40_megapixel_png_from_its_header(tmp_path):
    settings = Settings(upload_dir=str(tmp_path))
    with pytest.raises(PhotoError) as error:
        store_photo(io.BytesIO(png_claiming(7000, 5670)), settings=settings)
    assert error.value.code == "too_many_pixels"
    assert (error.value.width, error.value.height) == (7000, 5670)
    assert error.value.max_pixels == settings.max_image_pixels
    assert not list(tmp_path.iterdir())


def test_a_baseline_jpeg_may_have_more_pixels_than_a_png(settings):
    tight = replace(settings, max_image_pixels=1_000_000)
    # 6 MP: a JPEG is decoded at reduced scale, so it is accepted and stored at MAX_SIDE...
    stored = store_photo(io.BytesIO(encoded("JPEG", (3000, 2000))), settings=tight)
    assert (stored.width, stored.height) == (2048, 1365)
    # ... while the same number of pixels as a PNG, decoded at full size, is not.
    with pytest.raises(PhotoError) as error:
        store_photo(io.BytesIO(encoded("PNG", (3000, 2000))), settings=tight)
    assert error.value.code == "too_many_pixels" and error.value.max_pixels == 1_000_000


def test_a_progressive_jpeg_gets_a_smaller_allowance(settings):
    tight = replace(settings, max_image_pixels=1_000_000)
    progressive = encoded("JPEG", (3000, 2000), progressive=True)
    assert jpeg_scans(progressive) > 1
    with pytest.raises(PhotoError) as error:
        store_photo(io.BytesIO(progressive), settings=tight)
    assert error.value.code == "too_many_pixels" and error.value.max_pixels == 2_000_000
    stored = store_photo(
        io.BytesIO(encoded("JPEG", (1600, 1200), progressive=True)), settings=tight
    )
    assert (stored.width, stored.height) == (1600, 1200)


def test_jpeg_scans_skips_segments_and_entropy_data():
    baseline = encoded("JPEG", (64, 48))
    assert jpeg_scans(baseline) == 1
    # An EXIF block holding a whole progressive JPEG (as a thumbnail would) is not counted.
    thumbnail = encoded("JPEG", (16, 16), progressive=True)
    with Image.open(io.BytesIO(baseline)) as image:
        out = io.BytesIO()
        image.save(out, format="JPEG", exif=b"Exif\0\0" + thumbnail)
    assert jpeg_scans(out.getvalue()) == 1
    assert jpeg_scans(b"not a jpeg") == 0
    assert jpeg_scans(b"\xff\xd8\xff") == 0


def test_pixel_limits_by_kind(settings):
    with Image.open(io.BytesIO(encoded("JPEG", (10, 10)))) as jpeg:
        assert pixel_limit(jpeg, settings) == 8 * settings.max_image_pixels
        assert pixel_limit(jpeg, settings, multi_scan=True) == 2 * settings.max_image_pixels
    with Image.open(io.BytesIO(encoded("GIF", (10, 10), mode="P"))) as gif:
        assert pixel_limit(gif, settings) == settings.max_image_pixels


@pytest.fixture
def settings(settings):
    """Photos of two megapixels at most (JPEG: 16, progressive: 4), to keep the images small."""
    return replace(settings, max_image_pixels=2_000_000)


@pytest.mark.usefixtures("city")
def test_a_photo_with_too_many_pixels_is_refused_beside_the_field(client, db):
    journey = Journey(client)
    journey.through_location()
    journey.get("/report/photos")
    response = journey.post(
        "/report/photos",
        {"action": "upload", "photos": [(io.BytesIO(encoded("PNG", (2000, 1500))), "big.png")]},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "big.png is 2,000 × 1,500 pixels; photos like it may be at most 2 megapixels." in page
    assert 'class="usa-error-message" id="photos-error-1"' in page
    assert db.scalar(select(func.count()).select_from(RequestPhoto)) == 0
