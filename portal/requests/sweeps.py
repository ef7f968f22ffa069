"""What filing leaves behind, swept by the worker: photo files no row refers to (an upload that
failed half-way, a photo row removed without its file) and anonymous support limits older than a
day (``portal.requests.follows``).

The photo sweep reads the upload folder with ``os.scandir`` and asks the database about the
names a chunk at a time, so its memory does not grow with the folder. It removes only files
named as ``store_photo`` names them, older than ``ORPHAN_GRACE`` (so an upload in progress,
whose row is not written yet, is never touched), and logs each one it removes.
"""

from __future__ import annotations

import logging
import os
import re
import weakref
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.core.config import Settings
from portal.core.db import Database
from portal.requests.follows import sweep_support_limits
from portal.requests.models import RequestPhoto

log = logging.getLogger(__name__)

ORPHAN_GRACE = timedelta(hours=24)
#: What ``store_photo`` names a file: 32 hex digits and ``.jpg``; nothing else is touched.
PHOTO_NAME = re.compile(r"^[0-9a-f]{32}\.jpg$")


def sweep_orphan_photos(
    session: Session,
    *,
    settings: Settings,
    now: datetime,
    grace: timedelta = ORPHAN_GRACE,
    chunk: int = 500,
) -> int:
    """Delete photo files in ``settings.upload_dir`` that no ``RequestPhoto`` refers to and that
    are older than ``grace``; returns how many were removed."""
    folder = Path(settings.upload_dir)
    if not folder.is_dir():
        return 0
    cutoff = (now - grace).timestamp()
    removed = 0
    names: list[str] = []
    with os.scandir(folder) as entries:
        for entry in entries:
            if not PHOTO_NAME.match(entry.name) or not entry.is_file(follow_symlinks=False):
                continue
            try:
                if entry.stat(follow_symlinks=False).st_mtime > cutoff:
                    continue
            except FileNotFoundError:
                continue
            names.append(entry.name)
            if len(names) >= chunk:
                removed += _remove_unreferenced(session, folder, names)
                names = []
    if names:
        removed += _remove_unreferenced(session, folder, names)
    return removed


def _remove_unreferenced(session: Session, folder: Path, names: list[str]) -> int:
    referenced = set(
        session.scalars(select(RequestPhoto.storage_key).where(RequestPhoto.storage_key.in_(names)))
    )
    removed = 0
    for name in names:
        if name in referenced:
            continue
        try:
            (folder / name).unlink()
        except FileNotFoundError:
            continue
        log.info("removed photo file %s: no request or draft refers to it", name)
        removed += 1
    return removed


#: How often the worker sweeps (a sweep reads the whole upload folder), per database.
SWEEP_EVERY = timedelta(hours=1)
_last_sweep: weakref.WeakKeyDictionary[Database, datetime] = weakref.WeakKeyDictionary()


def sweep_filing_leftovers(db: Database, settings: Settings, now: datetime) -> str | None:
    """Worker job: orphaned photo files and day-old support limits, at most once a
    ``SWEEP_EVERY`` per worker process."""
    last = _last_sweep.get(db)
    if last is not None and last <= now < last + SWEEP_EVERY:
        return None
    _last_sweep[db] = now
    with db.transaction() as session:
        limits = sweep_support_limits(session, now=now)
    with db.transaction() as session:
        files = sweep_orphan_photos(session, settings=settings, now=now)
    if not (files or limits):
        return None
    return f"removed {files} orphaned photo file(s) and {limits} expired support limit(s)"
