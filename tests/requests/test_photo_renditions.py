"""Photos sized for the screen (issue 21): every page that shows a resident's photo offers
400/800/1200 px copies (JPEG and WebP) through the route that serves the photo, made once and
kept on disk, with ETags; and every size answers only to whoever may see the photo itself."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from pathlib import Path

import pytest
from PIL import Image

from portal.core import clock
from portal.requests.drafts import sweep_drafts
from portal.requests.models import RequestPhoto
from portal.requests.photos import RENDITIONS_FOLDER, store_photo
from tests.casework.test_case import make_office
from tests.conftest import sign_in
from tests.factories import INSIDE
from tests.requests.test_filing import Journey, city  # noqa: F401 (the fixture)
from tests.requests.test_tracking import private_request

SIZES = {"w400": 400, "w800": 800, "w1200": 1200}


def camera_jpeg(size=(4000, 3000)) -> bytes:
    """A phone camera's photo: noise, so it compresses like one (not a flat colour)."""
    image = Image.effect_noise(size, 60).convert("RGB")
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=90)
    return out.getvalue()


def add_photo(db, settings, sr, data: bytes, **kw) -> RequestPhoto:
    stored = store_photo(io.BytesIO(data), settings=settings)
    photo = RequestPhoto(
        request_id=sr.id,
        storage_key=stored.storage_key,
        width=stored.width,
        height=stored.height,
        size_bytes=stored.size_bytes,
        **kw,
    )
    db.add(photo)
    db.flush()
    return photo


@pytest.fixture(scope="module")
def camera() -> bytes:
    return camera_jpeg()


def image_of(response) -> Image.Image:
    return Image.open(io.BytesIO(response.get_data()))


def test_the_tracking_page_offers_sizes_and_each_is_made_once_and_revalidated(
    client, db, make, settings, camera
):
    sr = make.request()
    photo = add_photo(db, settings, sr, camera)
    assert (photo.width, photo.height) == (2048, 1536)
    base = f"/requests/{sr.reference}/photos/{photo.id}"
    html = client.get(f"/requests/{sr.reference}").get_data(as_text=True)
    img = re.search(r"<img class=\"portal-photo\"[^>]*>", html)
    assert img is not None, html
    tag = img.group(0)
    assert 'loading="lazy"' in tag and 'width="2048"' in tag and 'height="1536"' in tag
    assert f'srcset="{base}?size=w400 400w, {base}?size=w800 800w, {base}?size=w1200 1200w"' in tag
    assert f'src="{base}?size=w800"' in tag
    assert "sizes=" in tag
    assert '<source type="image/webp"' in html and f"{base}?size=w400&amp;format=webp 400w" in html
    assert f'<a href="{base}">' in html  # the whole photo, one tap away

    original = client.get(base)
    assert original.status_code == 200 and len(original.get_data()) == photo.size_bytes
    original.close()
    folder = Path(settings.upload_dir) / RENDITIONS_FOLDER
    for size, width in SIZES.items():
        for fmt, mimetype, kind in (("jpeg", "image/jpeg", "JPEG"), ("webp", "image/webp", "WEBP")):
            response = client.get(f"{base}?size={size}&format={fmt}")
            assert response.status_code == 200, (size, fmt)
            assert response.mimetype == mimetype
            picture = image_of(response)
            assert picture.format == kind
            assert picture.size == (width, round(1536 * width / 2048))
            assert len(response.get_data()) < photo.size_bytes / 2, (size, fmt)
            cache = {part.strip() for part in response.headers["Cache-Control"].split(",")}
            assert cache == {"private", "max-age=3600"}
            etag = response.headers["ETag"]
            assert response.headers["Last-Modified"]
            response.close()
            again = client.get(f"{base}?size={size}&format={fmt}", headers={"If-None-Match": etag})
            assert again.status_code == 304 and again.get_data() == b""
            again.close()
    thumb = client.get(f"{base}?size=thumb")
    assert image_of(thumb).size == (256, 192)
    thumb.close()
    # Made once: seven files (4 sizes as JPEG, 3 as WebP); a second request reads the same file.
    made = sorted(p.name for p in folder.iterdir() if p.name.startswith(photo.storage_key[:32]))
    assert len(made) == 7, made
    w800 = next(p for p in folder.iterdir() if p.name.endswith("-w800.jpg"))
    before = w800.stat().st_mtime_ns
    client.get(f"{base}?size=w800").close()
    assert w800.stat().st_mtime_ns == before


@pytest.mark.parametrize(
    "query", ["size=w1600", "size=thumb&format=gif", "format=webp", "size=", "size=w800x"]
)
def test_an_unknown_size_or_format_is_a_404(client, db, make, settings, query):
    sr = make.request()
    photo = add_photo(db, settings, sr, camera_jpeg((800, 600)))
    assert client.get(f"/requests/{sr.reference}/photos/{photo.id}?{query}").status_code == 404


def test_a_small_photo_is_shown_as_it_is(client, db, make, settings):
    sr = make.request()
    photo = add_photo(db, settings, sr, camera_jpeg((360, 240)))
    html = client.get(f"/requests/{sr.reference}").get_data(as_text=True)
    base = f"/requests/{sr.reference}/photos/{photo.id}"
    assert f'src="{base}" width="360" height="240"' in html
    assert "srcset" not in html


def test_every_size_of_a_private_photo_stays_private(client, db, make, settings):
    sr, token = private_request(make)
    photo = add_photo(db, settings, sr, camera_jpeg((1600, 1200)), public=False)
    staff_only = add_photo(
        db, settings, sr, camera_jpeg((1600, 1200)), added_by="staff", public=False
    )
    queries = ["", "?size=thumb", "?size=w400", "?size=w800&format=webp", "?size=w1200"]
    for who in ("stranger", "reporter"):
        if who == "reporter":
            client.get(f"/requests/{sr.reference}/access/{token}")
        for query in queries:
            url = f"/requests/{sr.reference}/photos/{photo.id}{query}"
            response = client.get(url)
            assert response.status_code == (200 if who == "reporter" else 404), (who, url)
            response.close()
            # A staff-only photo never answers on the public route, at any size.
            url = f"/requests/{sr.reference}/photos/{staff_only.id}{query}"
            assert client.get(url).status_code == 404, (who, url)
    # Nor does a photo under another request's reference.
    other = make.request()
    assert client.get(f"/requests/{other.reference}/photos/{photo.id}?size=w400").status_code == 404


def test_staff_get_every_size_and_no_copy_is_kept(client, db, make, settings):
    office = make_office(make, db)
    photo = add_photo(db, settings, office.case, camera_jpeg((1600, 1200)), public=False)
    base = f"/staff/cases/{office.case.reference}/photos/{photo.id}"
    for query in ("?size=w400", "?size=w800&format=webp"):
        assert client.get(base + query).status_code in (302, 401, 403, 404)  # not signed in
    sign_in(client, office.agent_x)
    html = client.get(f"/staff/cases/{office.case.reference}").get_data(as_text=True)
    assert f"{base}?size=w400 400w, {base}?size=w800 800w, {base}?size=w1200 1200w" in html
    for query, width in (("?size=w400", 400), ("?size=w1200&format=webp", 1200), ("", 1600)):
        response = client.get(base + query)
        assert response.status_code == 200
        assert image_of(response).width == width
        assert "no-store" in response.headers["Cache-Control"]
        response.close()
    other = client.application.test_client()
    sign_in(other, office.agent_y)  # another department's agent, no task on the case
    assert other.get(base + "?size=w400").status_code == 404
    assert other.get(base).status_code == 404


@pytest.mark.usefixtures("city")
def test_a_draft_photo_preview_is_kept_once_and_swept_with_the_photo(client, db, settings):
    journey = Journey(client)
    journey.through_location()
    journey.get("/report/photos")
    page = journey.post(
        "/report/photos",
        {"action": "upload", "photos": [(io.BytesIO(camera_jpeg((1200, 900))), "hole.jpg")]},
        content_type="multipart/form-data",
        follow_redirects=True,
    ).get_data(as_text=True)
    thumb_url = re.search(r'src="(/report/photos/(\d+)\?size=thumb)"', page)
    assert thumb_url is not None, page
    for _ in range(2):
        thumb = client.get(thumb_url.group(1))
        assert thumb.status_code == 200 and image_of(thumb).size == (256, 192)
        assert "no-store" in thumb.headers["Cache-Control"]  # a draft's photo is never kept
        thumb.close()
    folder = Path(settings.upload_dir) / RENDITIONS_FOLDER
    assert len(list(folder.glob("*-thumb.jpg"))) == 1
    # The worker's sweep of expired drafts removes the photo and what was made from it.
    assert sweep_drafts(db, settings=settings, now=clock.now() + timedelta(days=60)) == 1
    assert list(folder.glob("*-thumb.jpg")) == []
    assert client.get(thumb_url.group(1)).status_code == 404


def test_the_nearby_step_shows_a_public_photo_sized_for_its_card(
    client,
    db,
    make,
    settings,
    city,  # noqa: F811 (the fixture)
):
    _area, category = city
    existing = make.request(category=category, lat=INSIDE[0] + 0.0005, lon=INSIDE[1])
    hidden = add_photo(db, settings, existing, camera_jpeg((1600, 1200)), public=False)
    shown = add_photo(db, settings, existing, camera_jpeg((1600, 1200)))
    journey = Journey(client)
    journey.through_location()
    page = journey.get("/report/nearby").get_data(as_text=True)
    base = f"/requests/{existing.reference}/photos/{shown.id}"
    assert f'<a href="{base}">' in page
    assert f"{base}?size=w400 400w, {base}?size=w800 800w, {base}?size=w1200 1200w" in page
    assert 'width="1600" height="1200"' in page
    assert f"/photos/{hidden.id}" not in page


def test_a_damaged_stored_photo_has_no_copies_instead_of_an_error(client, db, make, settings):
    sr = make.request()
    photo = add_photo(db, settings, sr, camera_jpeg((800, 600)))
    path = Path(settings.upload_dir) / photo.storage_key
    path.write_bytes(path.read_bytes()[:200])  # cut short on disk
    base = f"/requests/{sr.reference}/photos/{photo.id}"
    for query in ("?size=thumb", "?size=w400", "?size=w400&format=webp"):
        assert client.get(base + query).status_code == 404, query
    assert list((Path(settings.upload_dir) / RENDITIONS_FOLDER).glob("*")) == []
    with client.get(base) as response:
        assert response.status_code == 200  # the file as it is, for whoever may see it
