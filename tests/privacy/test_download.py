"""Download my data: asked for on the account page, built by the worker, emailed over SMTP as
a single-use link that only the same signed-in account can use."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from portal.core import clock
from portal.core.senders import SmtpSender
from portal.core.worker import PERIODIC_JOBS, run_round
from portal.privacy.export import (
    build_data_exports,
    expire_data_exports,
    export_path,
    exports_dir,
)
from portal.privacy.models import DataExport
from portal.requests.models import AreaSubscription, Follower, Support
from tests.conftest import csrf_from, sign_in
from tests.smtp import body_html, body_text

LINK_RE = re.compile(r"http://portal\.test/account/download/([A-Za-z0-9_-]+)")


def _ask(client) -> str:
    page = client.get("/account/download")
    assert page.status_code == 200
    response = client.post(
        "/account/download", data={"csrf_token": csrf_from(page.get_data(as_text=True))}
    )
    assert response.status_code == 302
    return client.get("/account/download").get_data(as_text=True)


def _history(make, db, settings, user):
    """A resident with something of every kind, and another resident with their own."""
    mine = make.request(reporter_id=user.id, description="Pothole outside number 12")
    make.event(mine, kind="comment", body="Still there this morning", actor=user)
    photo = make.photo(mine, storage_key="photo-mine-1")
    folder = Path(settings.upload_dir)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / photo.storage_key).write_bytes(b"\xff\xd8jpeg bytes\xff\xd9")
    followed = make.request(description="Broken streetlight")
    make._add(Follower(request_id=followed.id, email=user.email, user_id=user.id, token="f-1"))
    make._add(Support(request_id=followed.id, supporter_key=f"u:{user.id}", user_id=user.id))
    invitation = make.survey_invitation(mine, email=user.email, user_id=user.id, state="answered")
    make.survey_response(invitation, csat=4, comment="Quick work, thanks")
    make.enrolment(make.programme(), user, answers={"resident": "yes"})
    area = make.area()
    make._add(AreaSubscription(user_id=user.id, area_id=area.id, token="alert-token-1"))
    other = make.user(name="Somebody Else")
    theirs = make.request(reporter_id=other.id, description="Someone else's graffiti report")
    make.event(theirs, kind="comment", body="Not mine to see", actor=other)
    return mine


def test_data_is_built_by_the_worker_emailed_and_downloaded_once(
    app, client, db, make, settings, smtp
):
    user = make.user(name="Dana Fields", phone="555-0100")
    mine = _history(make, db, settings, user)
    sign_in(client, user)

    account = client.get("/account").get_data(as_text=True)
    assert 'href="/account/download"' in account and 'href="/account/delete"' in account
    page = _ask(client)
    assert "We are gathering your data" in page
    # A second request while one is pending: told so, and still one pending.
    page = _ask(client)
    assert "already being gathered" in page
    assert len(db.scalars(select(DataExport).where(DataExport.user_id == user.id)).all()) == 1

    assert build_data_exports in PERIODIC_JOBS and expire_data_exports in PERIODIC_JOBS
    database = app.extensions["portal.db"]
    sender = SmtpSender(settings)
    run_round(database, sender, settings, now=clock.now(), echo=lambda _line: None)  # builds
    run_round(database, sender, settings, now=clock.now(), echo=lambda _line: None)  # sends
    [message] = smtp.to(user.email)
    assert "ready to download" in message["Subject"]
    [token] = set(LINK_RE.findall(body_text(message)))
    assert token in body_html(message)
    export = db.scalar(select(DataExport).where(DataExport.user_id == user.id))
    db.refresh(export)
    assert export.state == "ready" and export.token_hash != token
    path = export_path(settings, export)
    assert path.is_file() and path.parent == exports_dir(settings)

    response = client.get(f"/account/download/{token}")
    assert response.status_code == 200
    assert response.mimetype == "application/zip"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    archive = zipfile.ZipFile(io.BytesIO(response.get_data()))
    response.close()
    names = set(archive.namelist())
    assert {"data.json", "account.csv", "requests.csv", "comments.csv", "photos.csv"} <= names
    assert "photos/photo-mine-1.jpg" in names
    assert archive.read("photos/photo-mine-1.jpg") == b"\xff\xd8jpeg bytes\xff\xd9"
    data = json.loads(archive.read("data.json"))
    assert data["account"][0]["email"] == user.email
    assert data["account"][0]["phone"] == "555-0100"
    assert [r["reference"] for r in data["requests"]] == [mine.reference]
    assert [c["body"] for c in data["comments"]] == ["Still there this morning"]
    assert len(data["follows"]) == 1 and len(data["supports"]) == 1
    assert data["survey_answers"][0]["comment"] == "Quick work, thanks"
    assert data["enrolments"][0]["answers"] == {"resident": "yes"}
    assert len(data["alerts"]) == 1
    assert data["emails"] == []  # the email with the link was written after the file
    text = archive.read("data.json").decode()
    assert "Someone else's graffiti" not in text and "Not mine to see" not in text
    rows = list(csv.DictReader(io.StringIO(archive.read("requests.csv").decode())))
    assert rows[0]["description"] == "Pothole outside number 12"
    assert not path.exists()  # downloaded once: the file is gone

    again = client.get(f"/account/download/{token}")
    assert again.status_code == 410
    assert "This link has been used" in again.get_data(as_text=True)


def _ready_export(app, make, settings, user) -> tuple[str, DataExport]:
    from portal.privacy.export import request_export

    export = request_export(make.session, user, now=clock.now())
    build_data_exports(app.extensions["portal.db"], settings, clock.now())
    make.session.refresh(export)
    [url] = LINK_RE.findall(_outbox_text(make.session, user.email))
    return url, export


def _outbox_text(db, email: str) -> str:
    from portal.core.outbox import OutboxMessage

    return db.scalar(
        select(OutboxMessage.body_text)
        .where(OutboxMessage.to_address == email, OutboxMessage.kind == "data_export_ready")
        .order_by(OutboxMessage.id.desc())
    )


def test_someone_elses_link_does_not_work(app, client, db, make, settings):
    owner = make.user()
    token, export = _ready_export(app, make, settings, owner)
    intruder = make.user()
    sign_in(client, intruder)
    response = client.get(f"/account/download/{token}")
    assert response.status_code == 404
    assert "works only for the account that asked for it" in response.get_data(as_text=True)
    assert export_path(settings, export).is_file()  # still there for its owner
    assert client.get("/account/download/not-a-real-token").status_code == 404


def test_the_link_needs_signing_in(app, client, db, make, settings):
    token, _export = _ready_export(app, make, settings, make.user())
    response = client.get(f"/account/download/{token}")
    assert response.status_code == 302
    assert "/account/sign-in" in response.headers["Location"]


def test_an_expired_link_says_so_and_its_file_is_deleted(
    app, client, db, make, settings, freeze_clock
):
    user = make.user()
    token, export = _ready_export(app, make, settings, user)
    sign_in(client, user)
    later = clock.now() + timedelta(days=8)
    freeze_clock(later)
    response = client.get(f"/account/download/{token}")
    assert response.status_code == 410
    assert "This link has expired" in response.get_data(as_text=True)
    assert expire_data_exports(app.extensions["portal.db"], settings, later) == (
        "expired 1 data export(s)"
    )
    db.refresh(export)
    assert export.state == "expired"
    assert not export_path(settings, export).exists()


def test_a_few_downloads_a_day_at_most(app, client, db, make, settings):
    user = make.user()
    sign_in(client, user)
    for _n in range(3):
        assert "We are gathering your data" in _ask(client)
        build_data_exports(app.extensions["portal.db"], settings, clock.now())
    assert "Try again tomorrow" in _ask(client)
    assert len(db.scalars(select(DataExport).where(DataExport.user_id == user.id)).all()) == 3


def test_asking_needs_the_form_token(client, db, make):
    sign_in(client, make.user())
    assert client.post("/account/download", data={}).status_code == 400
    assert db.scalars(select(DataExport)).all() == []
