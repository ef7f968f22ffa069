"""Download my data: asked for on the account page, built by the worker, emailed as a link.

``request_export`` records the wish (one pending at a time, a few a day); the worker's
``build_data_exports`` writes a ZIP (data.json, one CSV per kind, the person's own photos) on
disk, a batch of rows at a time, and emails a single-use link whose token is stored hashed;
``claim_download`` checks the link for the signed-in account and marks it used (the view sends
the file, then ``discard_file`` deletes it); ``expire_data_exports`` deletes files nobody
fetched in time. No Flask here.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import secrets
import zipfile
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.auth.models import User
from portal.core.config import Settings
from portal.core.db import Database
from portal.core.mail import queue_email
from portal.privacy.kinds import KINDS, Person, columns, rows
from portal.privacy.models import DataExport

log = logging.getLogger(__name__)

#: How long an emailed link works.
LINK_DAYS = 7
#: At most this many downloads asked for in a day (the pending one included).
DAILY_LIMIT = 3
#: Exports the worker builds per round (each in its own transaction).
BUILD_BATCH = 5


class ExportError(Exception):
    """Why a download cannot be asked for or fetched: ``reason`` is "pending", "too_many",
    "unknown" (no such link, or another account's), "used" or "expired"."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def exports_dir(settings: Settings) -> Path:
    """Beside the uploads folder, never served as static files."""
    return Path(settings.upload_dir).resolve().parent / "exports"


def export_path(settings: Settings, export: DataExport) -> Path:
    return exports_dir(settings) / export.file_name


def request_export(session: Session, user: User, *, now: datetime) -> DataExport:
    """Record that ``user`` wants their data (flush). Raises ``ExportError("pending")`` while
    one is being built and ``ExportError("too_many")`` after ``DAILY_LIMIT`` in a day."""
    pending = session.scalar(
        select(DataExport.id).where(DataExport.user_id == user.id, DataExport.state == "pending")
    )
    if pending is not None:
        raise ExportError("pending")
    today = session.scalar(
        select(func.count())
        .select_from(DataExport)
        .where(DataExport.user_id == user.id, DataExport.created_at > now - timedelta(days=1))
    )
    if (today or 0) >= DAILY_LIMIT:
        raise ExportError("too_many")
    export = DataExport(user_id=user.id, state="pending", locale=user.locale, created_at=now)
    session.add(export)
    session.flush()
    return export


def latest_export(session: Session, user: User) -> DataExport | None:
    return session.scalar(
        select(DataExport)
        .where(DataExport.user_id == user.id)
        .order_by(DataExport.created_at.desc(), DataExport.id.desc())
        .limit(1)
    )


# --- Building (the worker) ------------------------------------------------------------------


def _cell(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    if value is None:
        return ""
    return value


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _write_csv(zf: zipfile.ZipFile, session: Session, kind: str, person: Person) -> None:
    with (
        zf.open(f"{kind}.csv", "w") as raw,
        io.TextIOWrapper(raw, encoding="utf-8", newline="") as text,
    ):
        writer = csv.writer(text)
        names = columns(kind)
        writer.writerow(names)
        for row in rows(session, kind, person):
            writer.writerow([_cell(row[name]) for name in names])


def _write_json(zf: zipfile.ZipFile, session: Session, person: Person, generated: datetime) -> None:
    """data.json, one row at a time: ``{"generated_at": ..., "<kind>": [rows], ...}``."""
    with zf.open("data.json", "w") as raw, io.TextIOWrapper(raw, encoding="utf-8") as out:
        out.write('{"generated_at": ' + json.dumps(generated.isoformat()))
        for kind in KINDS:
            out.write(f",\n{json.dumps(kind)}: [")
            for n, row in enumerate(rows(session, kind, person)):
                item = {key: _plain(value) for key, value in row.items()}
                out.write(("," if n else "") + "\n  " + json.dumps(item, ensure_ascii=False))
            out.write("]")
        out.write("}\n")


def _write_photos(
    zf: zipfile.ZipFile, session: Session, person: Person, settings: Settings
) -> None:
    uploads = Path(settings.upload_dir)
    for row in rows(session, "photos", person):
        key = row["storage_key"]
        path = uploads / key
        if "/" not in key and "\\" not in key and not key.startswith(".") and path.is_file():
            zf.write(path, f"photos/{key}.jpg")


def write_export(session: Session, person: Person, settings: Settings, path: Path, now: datetime):
    """Write the ZIP of ``person``'s data to ``path`` (a temporary name, then renamed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".part")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        _write_json(zf, session, person, now)
        for kind in KINDS:
            _write_csv(zf, session, kind, person)
        _write_photos(zf, session, person, settings)
    partial.replace(path)


def _build_one(db: Database, settings: Settings, export_id: int, now: datetime) -> bool:
    with db.transaction() as session:
        export = session.get(DataExport, export_id)
        if export is None or export.state != "pending":
            return False
        user = session.get(User, export.user_id)
        if user is None or not user.active:
            export.state = "failed"
            return False
        export.file_name = f"export-{export.id}-{secrets.token_hex(8)}.zip"
        path = export_path(settings, export)
        try:
            write_export(session, Person.of(user), settings, path, now)
        except OSError:
            log.exception("data export %s could not be written", export.id)
            export.state = "failed"
            return False
        token = secrets.token_urlsafe(32)
        export.token_hash = token_hash(token)
        export.state = "ready"
        export.size_bytes = path.stat().st_size
        export.ready_at = now
        export.expires_at = now + timedelta(days=LINK_DAYS)
        queue_email(
            session,
            settings=settings,
            to=user.email,
            template="data_export_ready",
            locale=export.locale,
            context={
                "name": user.name,
                "url": f"{settings.base_url}/account/download/{token}",
                "days": LINK_DAYS,
            },
            dedupe_key=f"data-export:{export.id}",
        )
    return True


def build_data_exports(db: Database, settings: Settings, now: datetime) -> str | None:
    """Worker job: build up to ``BUILD_BATCH`` pending exports and email their links."""
    with db.transaction(write=False) as session:
        pending = list(
            session.scalars(
                select(DataExport.id)
                .where(DataExport.state == "pending")
                .order_by(DataExport.id)
                .limit(BUILD_BATCH)
            )
        )
    built = sum(_build_one(db, settings, export_id, now) for export_id in pending)
    return f"built {built} data export(s)" if built else None


def expire_data_exports(db: Database, settings: Settings, now: datetime) -> str | None:
    """Worker job: delete the files of links nobody used in time."""
    with db.transaction() as session:
        lapsed = list(
            session.scalars(
                select(DataExport)
                .where(DataExport.state == "ready", DataExport.expires_at <= now)
                .order_by(DataExport.id)
                .limit(100)
            )
        )
        for export in lapsed:
            export.state = "expired"
            discard_file(settings, export)
    return f"expired {len(lapsed)} data export(s)" if lapsed else None


# --- Downloading ----------------------------------------------------------------------------


def claim_download(
    session: Session, user: User, token: str, *, settings: Settings, now: datetime
) -> DataExport:
    """The export behind ``token`` for ``user``, marked downloaded (flush); the caller sends
    the file then calls ``discard_file``. Raises ``ExportError`` ("unknown", "used",
    "expired")."""
    if not token or len(token) > 100:
        raise ExportError("unknown")
    export = session.scalar(select(DataExport).where(DataExport.token_hash == token_hash(token)))
    if export is None or export.user_id != user.id:
        raise ExportError("unknown")
    if export.state == "downloaded":
        raise ExportError("used")
    expires_at = export.expires_at
    if export.state != "ready" or expires_at is None or expires_at <= now:
        raise ExportError("expired")
    if not export_path(settings, export).is_file():
        raise ExportError("expired")
    export.state = "downloaded"
    export.downloaded_at = now
    session.flush()
    return export


def discard_file(settings: Settings, export: DataExport) -> None:
    if export.file_name:
        export_path(settings, export).unlink(missing_ok=True)
