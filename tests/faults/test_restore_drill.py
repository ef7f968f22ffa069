"""The restore drill the README's "Production" section describes, on PostgreSQL: back the
database up with ``pg_dump -Fc`` and copy the uploads folder, restore both into a fresh
database and folder, and a portal started on them serves the same request, photo and counts.

Skipped, saying why, when PostgreSQL or its client programs (``pg_dump``, ``pg_restore``, of
the server's major version) are not available.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import uuid
from dataclasses import replace

import pytest
from PIL import Image
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from portal import create_app
from portal.auth.models import User
from portal.core.outbox import OutboxMessage
from portal.migrate import upgrade
from portal.requests.models import Event, RequestPhoto, ServiceRequest
from tests.postgres import scratch_postgres
from tests.scratch import arrange

COUNTED = (ServiceRequest, Event, RequestPhoto, User, OutboxMessage)


def _libpq(url: str) -> str:
    """A URL pg_dump understands (no SQLAlchemy driver name)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"needs {name} (PostgreSQL's client programs) on the PATH")
    return path


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 40, 40)).save(out, format="JPEG")
    return out.getvalue()


def _counts(app) -> dict[str, int]:
    with app.extensions["portal.db"].transaction(write=False) as session:
        return {
            model.__tablename__: session.scalar(select(func.count()).select_from(model))
            for model in COUNTED
        }


def _page(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, path
    # Per-response values (CSRF tokens, CSP nonces) differ between any two responses.
    return re.sub(r'(name="csrf_token" value|nonce)="[^"]*"', "", response.get_data(as_text=True))


def _photo(client, path: str) -> bytes:
    with client.get(path) as response:
        assert response.status_code == 200, path
        return response.data


@pytest.mark.postgres
def test_a_backup_restores_into_a_fresh_database_and_folder(settings, tmp_path):
    pg_dump, pg_restore = _tool("pg_dump"), _tool("pg_restore")
    with scratch_postgres() as url:
        upgrade(url)
        live = replace(settings, database_url=url, upload_dir=str(tmp_path / "uploads"))
        source = create_app(live)
        try:
            photo_bytes = _jpeg()

            def build(make):
                sr = make.request(description="Streetlight out on Elm Street, restore drill")
                make.event(sr, body="A crew is scheduled for Tuesday")
                photo = make.photo(sr, storage_key=f"{uuid.uuid4().hex}.jpg", public=True)
                return sr.reference, photo.id, photo.storage_key

            reference, photo_id, key = arrange(source, build)
            (tmp_path / "uploads").mkdir()
            (tmp_path / "uploads" / key).write_bytes(photo_bytes)
            client = source.test_client()
            before_page = _page(client, f"/requests/{reference}")
            assert "Streetlight out on Elm Street" in before_page
            assert _photo(client, f"/requests/{reference}/photos/{photo_id}") == photo_bytes
            before_counts = _counts(source)

            # The backup: a custom-format dump and a copy of the uploads folder.
            dump = tmp_path / "portal.dump"
            subprocess.run([pg_dump, "-Fc", "-f", str(dump), _libpq(url)], check=True)
            shutil.copytree(tmp_path / "uploads", tmp_path / "backup-uploads")
        finally:
            source.extensions["portal.db"].dispose()

        # The restore: a new, empty database and folder.
        restored_name = f"portal_restore_{uuid.uuid4().hex[:12]}"
        restored_url = make_url(url).set(database=restored_name).render_as_string(False)
        admin = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{restored_name}"'))
        try:
            subprocess.run(
                [
                    pg_restore,
                    "--no-owner",
                    "--exit-on-error",
                    "-d",
                    _libpq(restored_url),
                    str(dump),
                ],
                check=True,
            )
            shutil.copytree(tmp_path / "backup-uploads", tmp_path / "restored-uploads")
            restored = create_app(
                replace(
                    live,
                    database_url=restored_url,
                    upload_dir=str(tmp_path / "restored-uploads"),
                )
            )
            try:
                client = restored.test_client()
                assert _page(client, f"/requests/{reference}") == before_page
                assert _photo(client, f"/requests/{reference}/photos/{photo_id}") == photo_bytes
                assert _counts(restored) == before_counts
                assert before_counts["service_requests"] == 1
            finally:
                restored.extensions["portal.db"].dispose()
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{restored_name}" WITH (FORCE)'))
            admin.dispose()
