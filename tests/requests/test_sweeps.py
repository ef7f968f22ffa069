"""The worker removes photo files no row refers to, once they are a day old."""

from __future__ import annotations

import io
import logging
import os
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from portal.core import clock
from portal.requests.models import RequestPhoto
from portal.requests.sweeps import sweep_filing_leftovers, sweep_orphan_photos
from tests.requests.test_filing import Journey, city, jpeg_with_gps  # noqa: F401 (fixture)

DAY = 24 * 3600


def age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def photo_files(settings) -> set[str]:
    folder = Path(settings.upload_dir)
    return {p.name for p in folder.iterdir() if p.is_file()} if folder.is_dir() else set()


@pytest.mark.usefixtures("city")
def test_photos_of_a_failed_upload_are_swept_after_a_day(app, client, db, settings, caplog):
    journey = Journey(client)
    journey.through_location()
    journey.get("/report/photos")
    response = journey.post(
        "/report/photos",
        {
            "action": "upload",
            "photos": [
                (io.BytesIO(jpeg_with_gps()), "good.jpg"),
                (io.BytesIO(b"not a photo"), "bad.jpg"),
            ],
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert db.scalar(select(func.count()).select_from(RequestPhoto)) == 0
    [orphan] = photo_files(settings)  # the good one was written before the bad one failed

    # A photo that was filed stays, however old.
    kept = journey.post(
        "/report/photos",
        {"action": "upload", "photos": [(io.BytesIO(jpeg_with_gps()), "kept.jpg")]},
        content_type="multipart/form-data",
    )
    assert kept.status_code == 302
    [stored] = db.scalars(select(RequestPhoto.storage_key))
    folder = Path(settings.upload_dir)
    # Not ours: other names, folders.
    (folder / "notes.txt").write_text("keep")
    (folder / "area-uploads").mkdir()
    for name in (orphan, stored, "notes.txt"):
        age(folder / name, 2 * DAY)

    db_handle = app.extensions["portal.db"]
    with caplog.at_level(logging.INFO, logger="portal.requests.sweeps"):
        message = sweep_filing_leftovers(db_handle, settings, clock.now() + timedelta(days=3))
    assert message is not None and "removed 1 orphaned photo file" in message
    assert photo_files(settings) == {stored, "notes.txt"}
    assert (folder / "area-uploads").is_dir()
    assert orphan in caplog.text


def test_a_recent_orphan_is_left_alone(app, db, settings):
    folder = Path(settings.upload_dir)
    folder.mkdir(parents=True, exist_ok=True)
    recent = folder / ("a" * 32 + ".jpg")
    recent.write_bytes(b"uploading")
    age(recent, 3600)
    assert sweep_orphan_photos(db, settings=settings, now=clock.now()) == 0
    assert recent.exists()


def test_orphans_are_swept_in_chunks(db, make, settings):
    folder = Path(settings.upload_dir)
    folder.mkdir(parents=True, exist_ok=True)
    sr = make.request()
    names = [f"{n:032x}.jpg" for n in range(7)]
    for name in names:
        (folder / name).write_bytes(b"x")
        age(folder / name, 2 * DAY)
    for name in names[::2]:
        db.add(RequestPhoto(request_id=sr.id, storage_key=name, width=1, height=1, size_bytes=1))
    db.flush()
    assert sweep_orphan_photos(db, settings=settings, now=clock.now(), chunk=2) == 3
    assert photo_files(settings) == set(names[::2])
