"""Placing points in the city's areas, and distances for "is it one of these?"."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from portal.areas.geo import distance_m, locate
from portal.requests.photos import PhotoError, store_photo

WEST = [[-87.02, 40.99], [-87.0, 40.99], [-87.0, 41.01], [-87.02, 41.01], [-87.02, 40.99]]
EAST = [[-87.0, 40.99], [-86.98, 40.99], [-86.98, 41.01], [-87.0, 41.01], [-87.0, 40.99]]


def test_points_fall_in_the_right_area(make, db):
    west = make.area(code="west", name="Westfield", ring=WEST)
    east = make.area(code="east", name="Eastgate", ring=EAST)
    assert locate(db, 41.0, -87.01).id == west.id
    assert locate(db, 41.0, -86.99).id == east.id
    assert locate(db, 41.0, -87.0).id in {west.id, east.id}  # a shared edge is in the city
    assert locate(db, 41.02, -87.01) is None
    assert locate(db, float("nan"), -87.0) is None
    assert locate(db, 91.0, -87.0) is None


def test_a_hole_in_a_multipolygon_is_outside(make, db):
    outer = [[-87.02, 40.98], [-86.98, 40.98], [-86.98, 41.02], [-87.02, 41.02], [-87.02, 40.98]]
    hole = [
        [-87.005, 40.995],
        [-86.995, 40.995],
        [-86.995, 41.005],
        [-87.005, 41.005],
        [-87.005, 40.995],
    ]
    area = make.area(code="ring", name="Ring", ring=outer)
    area.geometry = {"type": "MultiPolygon", "coordinates": [[outer, hole]]}
    db.flush()
    assert locate(db, 41.0, -87.0) is None
    assert locate(db, 40.99, -87.01).id == area.id


def test_distance_is_metres_on_the_ground():
    assert distance_m(41.0, -87.0, 41.0005, -87.0) == pytest.approx(55.6, abs=0.5)
    assert distance_m(41.0, -87.0, 41.0, -87.0) == 0


def _image(fmt: str, mode: str = "RGB", size=(300, 200), **save) -> io.BytesIO:
    out = io.BytesIO()
    Image.new(mode, size).save(out, format=fmt, **save)
    out.seek(0)
    return out


def test_photos_are_reencoded_upright_and_without_metadata(settings):
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated 90 degrees: width and height swap when applied
    exif[0x010F] = "SecretCam"
    stored = store_photo(_image("JPEG", exif=exif), settings=settings)
    assert (stored.width, stored.height) == (200, 300)
    with Image.open(f"{settings.upload_dir}/{stored.storage_key}") as saved:
        assert saved.format == "JPEG" and not saved.getexif()


def test_transparent_png_becomes_a_jpeg(settings):
    stored = store_photo(_image("PNG", mode="RGBA"), settings=settings)
    assert stored.storage_key.endswith(".jpg")


@pytest.mark.parametrize(
    "payload, code",
    [
        (io.BytesIO(b""), "empty"),
        (io.BytesIO(b"<svg xmlns='http://www.w3.org/2000/svg'></svg>"), "not_image"),
        (io.BytesIO(b"GIF89a" + b"\0" * 20), "not_image"),
    ],
)
def test_non_photos_are_refused(settings, payload, code):
    with pytest.raises(PhotoError) as error:
        store_photo(payload, settings=settings)
    assert error.value.code == code


def test_huge_pixel_counts_are_refused_before_decoding(settings):
    from dataclasses import replace

    tight = replace(settings, max_image_pixels=10_000)
    with pytest.raises(PhotoError) as error:
        store_photo(_image("PNG", size=(200, 200)), settings=tight)
    assert error.value.code == "too_many_pixels"
