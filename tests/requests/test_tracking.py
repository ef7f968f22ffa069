"""Tracking a request: the public page, private access, talking to staff, reopening, emails."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select

from portal.casework.models import Task
from portal.core import clock
from portal.core.outbox import OutboxMessage
from portal.core.senders import SmtpSender
from portal.core.worker import deliver_outbox
from portal.requests import access, updates
from portal.requests.events import add_event
from portal.requests.follows import follow_request
from portal.requests.models import Event, InvalidTransition, RequestPhoto
from portal.requests.queries import normalise_reference
from tests.conftest import csrf_from, sign_in
from tests.smtp import body_html, body_text


@pytest.fixture(autouse=True)
def _real_time():
    yield
    clock.freeze(None)


def page_token(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return csrf_from(response.get_data(as_text=True))


def private_request(make, **kw):
    """An anonymous reporter's private request and its tracking token."""
    token, token_hash = access.new_token()
    sr = make.request(
        category=make.category(private=True),
        contact_name="Pat Private",
        contact_email="pat@example.org",
        tracking_token_hash=token_hash,
        **kw,
    )
    return sr, token


def events(db, sr, kind=None):
    query = select(Event).where(Event.request_id == sr.id).order_by(Event.id)
    if kind:
        query = query.where(Event.kind == kind)
    return list(db.scalars(query))


# --- the public page ------------------------------------------------------------------------


def test_public_page_shows_the_public_timeline_only(client, db, make, settings):
    reporter = make.user(name="Zed Reporter", email="zed@example.org")
    staff = make.user(name="Sam Staff", role="agent")
    sr = make.request(
        reporter=reporter,
        contact_name="Zed Reporter",
        contact_phone="555 0100",
        description="Pothole at the corner",
    )
    add_event(
        db,
        sr,
        "internal_note",
        actor=staff,
        actor_kind="staff",
        body="Secret: the reporter is the mayor's cousin",
    )
    updates.change_status(
        db,
        settings=settings,
        request=sr,
        target="in_progress",
        actor=staff,
        note="A crew is booked for Tuesday.",
    )
    updates.post_comment(
        db,
        settings=settings,
        request=sr,
        body="Thanks for the photos",
        actor=reporter,
        actor_kind="resident",
    )

    response = client.get(f"/requests/{sr.reference}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f"Request {sr.reference}" in html
    assert "Pothole at the corner" in html
    assert "In progress" in html and "usa-tag" in html
    assert "A crew is booked for Tuesday." in html
    assert "Thanks for the photos" in html
    assert "City staff" in html and "Resident" in html
    assert "Secret" not in html
    for private_detail in ("Zed Reporter", "zed@example.org", "555 0100", "Sam Staff"):
        assert private_detail not in html
    # Only the reporter may write to staff.
    assert "Send a message to city staff" not in html


def test_status_names_are_plain_language_and_translated(client, make):
    sr = make.request(status="waiting_on_resident")
    assert "Waiting for your reply" in client.get(f"/requests/{sr.reference}").get_data(
        as_text=True
    )
    spanish = client.get(f"/requests/{sr.reference}?lang=es")
    assert spanish.status_code == 200


def test_unknown_reference_is_a_404_in_the_layout(client):
    response = client.get("/requests/SR-2026-999999")
    html = response.get_data(as_text=True)
    assert response.status_code == 404
    assert "We could not find request SR-2026-999999" in html
    assert 'class="usa-skipnav"' in html


def test_rejected_status_change_raises(db, make, settings):
    sr = make.request(status="closed")
    with pytest.raises(InvalidTransition):
        updates.change_status(db, settings=settings, request=sr, target="acknowledged", actor=None)


# --- finding a request by reference ---------------------------------------------------------


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("sr-2026-123", "SR-2026-000123"),
        ("  SR 2026 000123 ", "SR-2026-000123"),
        ("2026-123", "SR-2026-000123"),
        ("sr2026123", "SR-2026-000123"),
        ("SR-2026-1234567", "SR-2026-1234567"),
        ("XX-2026-123", None),
        ("SR-26-1", None),
        ("pothole", None),
        ("", None),
    ],
)
def test_reference_normalisation(raw, expected):
    assert normalise_reference(raw, "SR") == expected


def test_find_redirects_to_the_page_whatever_the_case_and_spacing(client, make):
    sr = make.request()
    number = int(sr.reference.rsplit("-", 1)[1])
    year = sr.reference.split("-")[1]
    response = client.get("/requests", query_string={"reference": f" sr-{year}-{number} "})
    assert response.status_code == 302
    assert response.headers["Location"] == f"/requests/{sr.reference}"
    # A typed URL in another form lands on the canonical address.
    response = client.get(f"/requests/sr-{year}-{number}")
    assert response.status_code == 301
    assert response.headers["Location"] == f"/requests/{sr.reference}"
    odd = client.get(f"/requests/sr-{year}-{number}?reference=x&_scheme=ftp&_external=1")
    assert odd.status_code == 301
    assert odd.headers["Location"] == f"/requests/{sr.reference}"


def test_find_shows_errors_next_to_the_field(client, make):
    page = client.get("/requests")
    assert page.status_code == 200
    assert 'for="reference"' in page.get_data(as_text=True)
    bad = client.get("/requests", query_string={"reference": "pothole"})
    assert bad.status_code == 400
    assert 'id="reference-error-1"' in bad.get_data(as_text=True)
    missing = client.get("/requests", query_string={"reference": "SR-2026-999999"})
    html = missing.get_data(as_text=True)
    assert missing.status_code == 400
    assert "We could not find request SR-2026-999999" in html
    empty = client.get("/requests", query_string={"reference": ""})
    assert empty.status_code == 400
    assert "Enter the reference of your request" in empty.get_data(as_text=True)


def test_find_does_not_reveal_private_requests(client, make):
    sr, _token = private_request(make)
    response = client.get("/requests", query_string={"reference": sr.reference})
    assert response.status_code == 400
    assert f"We could not find request {sr.reference}" in response.get_data(as_text=True)


# --- private requests -----------------------------------------------------------------------


def test_private_request_is_404_to_the_public_and_other_residents(app, make):
    reporter = make.user()
    other = make.user()
    sr = make.request(category=make.category(private=True), reporter=reporter)
    assert not sr.is_public
    anonymous = app.test_client()
    response = anonymous.get(f"/requests/{sr.reference}")
    assert response.status_code == 404
    assert f"We could not find request {sr.reference}" in response.get_data(as_text=True)

    neighbour = app.test_client()
    sign_in(neighbour, other)
    assert neighbour.get(f"/requests/{sr.reference}").status_code == 404

    owner = app.test_client()
    sign_in(owner, reporter)
    page = owner.get(f"/requests/{sr.reference}")
    assert page.status_code == 200
    assert "This request is private" in page.get_data(as_text=True)


def test_private_link_grants_access_for_the_session(client, make):
    sr, token = private_request(make)
    assert client.get(f"/requests/{sr.reference}").status_code == 404
    response = client.get(f"/requests/{sr.reference}/access/{token}")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/requests/{sr.reference}"
    page = client.get(f"/requests/{sr.reference}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Send a message to city staff" in html
    assert "Pat Private" not in html and "pat@example.org" not in html


def test_wrong_token_is_a_plain_404(client, make):
    sr, token = private_request(make)
    response = client.get(f"/requests/{sr.reference}/access/{token[:-2]}xx")
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert "Page not found" in html and "We could not find request" not in html
    assert client.get(f"/requests/{sr.reference}").status_code == 404
    assert client.get(f"/requests/SR-2026-999999/access/{token}").status_code == 404


# --- talking to staff -----------------------------------------------------------------------


def test_reply_via_the_private_link_answers_the_question(client, db, make, settings):
    sr, token = private_request(make, status="in_progress")
    updates.ask_resident(
        db, settings=settings, request=sr, question="Which side of the road?", actor=None
    )
    assert sr.status == "waiting_on_resident"
    client.get(f"/requests/{sr.reference}/access/{token}")
    html = client.get(f"/requests/{sr.reference}").get_data(as_text=True)
    assert "Which side of the road?" in html
    assert "Answer the question from city staff" in html

    response = client.post(
        f"/requests/{sr.reference}/reply",
        data={"csrf_token": csrf_from(html), "message": "The north side."},
    )
    assert response.status_code == 302
    db.refresh(sr)
    assert sr.status == "in_progress"
    answer = events(db, sr, "answer")
    assert [e.body for e in answer] == ["The north side."]
    assert answer[0].actor_kind == "resident" and answer[0].public
    assert answer[0].data == {"from": "waiting_on_resident", "to": "in_progress"}


def test_reply_when_not_waiting_is_a_comment(client, db, make):
    reporter = make.user()
    sr = make.request(reporter=reporter, status="acknowledged")
    sign_in(client, reporter)
    token = page_token(client, f"/requests/{sr.reference}")
    response = client.post(
        f"/requests/{sr.reference}/reply",
        data={"csrf_token": token, "message": "It is getting bigger."},
    )
    assert response.status_code == 302
    db.refresh(sr)
    assert sr.status == "acknowledged"
    comment = events(db, sr, "comment")
    assert comment[0].body == "It is getting bigger." and comment[0].actor_id == reporter.id


@pytest.mark.parametrize(
    "message, error",
    [
        ("   ", "Enter your message."),
        ("x" * 2001, "Keep your message to 2000 characters or fewer."),
    ],
)
def test_reply_needs_text_of_a_sensible_length(client, db, make, message, error):
    sr, token = private_request(make)
    client.get(f"/requests/{sr.reference}/access/{token}")
    csrf = page_token(client, f"/requests/{sr.reference}")
    response = client.post(
        f"/requests/{sr.reference}/reply", data={"csrf_token": csrf, "message": message}
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert re.search(r'id="message-error-1">[^<]*' + re.escape(error), html)
    assert events(db, sr, "comment") == []


def test_only_the_reporter_can_reply(app, make):
    sr = make.request(reporter=make.user())
    stranger = app.test_client()
    sign_in(stranger, make.user())
    csrf = page_token(stranger, f"/requests/{sr.reference}")
    response = stranger.post(
        f"/requests/{sr.reference}/reply", data={"csrf_token": csrf, "message": "Not mine"}
    )
    assert response.status_code == 403


def test_missing_csrf_token_is_a_400(client, db, make):
    sr, token = private_request(make)
    client.get(f"/requests/{sr.reference}/access/{token}")
    response = client.post(f"/requests/{sr.reference}/reply", data={"message": "Hello"})
    assert response.status_code == 400
    assert "security token" in response.get_data(as_text=True)
    assert events(db, sr, "comment") == []


# --- reopening ------------------------------------------------------------------------------


def test_reopen_within_the_window(client, db, make, settings):
    sr, token = private_request(
        make, status="resolved", resolved_at=clock.now() - timedelta(days=settings.reopen_days - 1)
    )
    client.get(f"/requests/{sr.reference}/access/{token}")
    html = client.get(f"/requests/{sr.reference}").get_data(as_text=True)
    assert "Reopen the request" in html
    empty = client.post(
        f"/requests/{sr.reference}/reopen", data={"csrf_token": csrf_from(html), "reason": ""}
    )
    assert empty.status_code == 400
    assert 'id="reason-error-1"' in empty.get_data(as_text=True)
    response = client.post(
        f"/requests/{sr.reference}/reopen",
        data={"csrf_token": csrf_from(html), "reason": "Still a hole."},
    )
    assert response.status_code == 302
    db.refresh(sr)
    assert sr.status == "in_progress" and sr.is_open and sr.resolved_at is None
    reopened = events(db, sr, "reopened")
    assert reopened[0].body == "Still a hole." and reopened[0].public
    # Back in the department's queue: the reopened case has an open task again.
    task = db.scalar(select(Task).where(Task.request_id == sr.id, Task.is_open.is_(True)))
    assert task is not None and task.department_id == sr.department_id


def test_reopen_outside_the_window_explains_why(client, db, make, settings):
    sr, token = private_request(
        make, status="closed", resolved_at=clock.now() - timedelta(days=settings.reopen_days + 1)
    )
    client.get(f"/requests/{sr.reference}/access/{token}")
    html = client.get(f"/requests/{sr.reference}").get_data(as_text=True)
    assert "can no longer be reopened" in html and "Reopen the request" not in html
    csrf = page_token(client, "/account/sign-in")  # this page has no form to take it from
    response = client.post(
        f"/requests/{sr.reference}/reopen", data={"csrf_token": csrf, "reason": "Still a hole."}
    )
    assert response.status_code == 400
    assert "can no longer be reopened" in response.get_data(as_text=True)
    db.refresh(sr)
    assert sr.status == "closed"
    with pytest.raises(updates.ReopenNotAllowed) as exc:
        updates.reopen(db, settings=settings, request=sr, comment="again")
    assert exc.value.code == "window"


def test_open_request_cannot_be_reopened(db, make, settings):
    sr = make.request(status="in_progress")
    with pytest.raises(updates.ReopenNotAllowed):
        updates.reopen(db, settings=settings, request=sr, comment="Hmm")


# --- photos ---------------------------------------------------------------------------------


def _jpeg(color=(200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), color).save(out, format="JPEG")
    return out.getvalue()


def _stored_photo(db, settings, sr, **kw) -> RequestPhoto:
    folder = Path(settings.upload_dir)
    folder.mkdir(parents=True, exist_ok=True)
    key = f"test{sr.id}{kw.get('added_by', 'r')}{kw.get('public', True)}.jpg"
    (folder / key).write_bytes(_jpeg())
    photo = RequestPhoto(
        request_id=sr.id, storage_key=key, width=40, height=30, size_bytes=100, **kw
    )
    db.add(photo)
    db.flush()
    return photo


def test_public_photo_is_served_as_a_jpeg(client, db, make, settings):
    sr = make.request()
    photo = _stored_photo(db, settings, sr)
    staff_only = _stored_photo(db, settings, sr, added_by="staff", public=False)
    html = client.get(f"/requests/{sr.reference}").get_data(as_text=True)
    assert f"/requests/{sr.reference}/photos/{photo.id}" in html
    assert f"/photos/{staff_only.id}" not in html
    response = client.get(f"/requests/{sr.reference}/photos/{photo.id}")
    assert response.status_code == 200
    assert response.mimetype == "image/jpeg"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.data.startswith(b"\xff\xd8")
    response.close()
    assert client.get(f"/requests/{sr.reference}/photos/{staff_only.id}").status_code == 404
    other = make.request()
    assert client.get(f"/requests/{other.reference}/photos/{photo.id}").status_code == 404


def test_private_photo_only_with_access(client, db, make, settings):
    sr, token = private_request(make)
    photo = _stored_photo(db, settings, sr, public=False)
    url = f"/requests/{sr.reference}/photos/{photo.id}"
    assert client.get(url).status_code == 404
    client.get(f"/requests/{sr.reference}/access/{token}")
    response = client.get(url)
    assert response.status_code == 200
    response.close()


def test_reporter_adds_photos_via_the_private_link(client, db, make, settings):
    sr, token = private_request(make)
    client.get(f"/requests/{sr.reference}/access/{token}")
    csrf = page_token(client, f"/requests/{sr.reference}")
    response = client.post(
        f"/requests/{sr.reference}/photos",
        data={"csrf_token": csrf, "photos": [(io.BytesIO(_jpeg()), "hole.jpg")]},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    photos = list(db.scalars(select(RequestPhoto).where(RequestPhoto.request_id == sr.id)))
    assert len(photos) == 1 and photos[0].added_by == "reporter"
    assert (Path(settings.upload_dir) / photos[0].storage_key).is_file()
    assert events(db, sr, "photo_added")[0].data == {"photo_id": photos[0].id}
    page = client.get(f"/requests/{sr.reference}").get_data(as_text=True)
    assert f"/photos/{photos[0].id}" in page

    not_a_photo = client.post(
        f"/requests/{sr.reference}/photos",
        data={"csrf_token": csrf, "photos": [(io.BytesIO(b"%PDF-1.4 nope"), "doc.pdf")]},
        content_type="multipart/form-data",
    )
    assert not_a_photo.status_code == 400
    assert "doc.pdf is not a photo" in not_a_photo.get_data(as_text=True)


# --- emails ---------------------------------------------------------------------------------


def _outbox(db, kind="request_update"):
    return list(
        db.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == kind).order_by(OutboxMessage.id)
        )
    )


def test_status_change_emails_reporter_and_confirmed_followers(app, db, make, settings, smtp):
    sr = make.request(contact_email="reporter@example.org", contact_name="Rita Reporter")
    confirmed = follow_request(
        db,
        settings=settings,
        request=sr,
        email="fan@example.org",
        user=make.user(email="fan@example.org"),
        locale="en",
    )
    follow_request(db, settings=settings, request=sr, email="maybe@example.org", locale="en")
    add_event(db, sr, "internal_note", actor_kind="staff", body="INTERNAL do not send")

    updates.change_status(
        db, settings=settings, request=sr, target="resolved", actor=None, note="Filled on Monday."
    )
    recipients = sorted(m.to_address for m in _outbox(db))
    assert recipients == ["fan@example.org", "reporter@example.org"]

    stats = deliver_outbox(
        app.extensions["portal.db"], SmtpSender(settings), now=clock.now(), max_attempts=3
    )
    assert stats.sent >= 2
    smtp.wait_for(3)
    [to_reporter] = smtp.to("reporter@example.org")
    [to_fan] = smtp.to("fan@example.org")
    assert smtp.to("maybe@example.org")  # only the follow confirmation, no update
    assert all("Update" not in m["Subject"] for m in smtp.to("maybe@example.org"))
    reporter_text = body_text(to_reporter)
    assert f"Update on your request {sr.reference}: Resolved" == to_reporter["Subject"]
    assert "Filled on Monday." in reporter_text
    assert f"http://portal.test/requests/{sr.reference}" in reporter_text
    assert "/access/" not in reporter_text and "/access/" not in body_html(to_reporter)
    assert "unsubscribe" not in reporter_text
    fan_text = body_text(to_fan)
    unsubscribe = f"http://portal.test/follow/unsubscribe/{confirmed.token}"
    assert unsubscribe in fan_text and unsubscribe in body_html(to_fan)
    for message in (to_reporter, to_fan):
        assert "INTERNAL" not in body_text(message) and "INTERNAL" not in body_html(message)
        assert "Rita" not in body_text(message)


def test_question_emails_the_reporter_in_their_language(db, make, settings):
    reporter = make.user(locale="es", email="ana@example.org")
    sr = make.request(reporter=reporter)
    updates.ask_resident(db, settings=settings, request=sr, question="¿Qué lado?", actor=None)
    [message] = _outbox(db)
    assert message.to_address == "ana@example.org" and message.locale == "es"
    assert "¿Qué lado?" in message.body_text
    assert message.dedupe_key == f"update:{events(db, sr, 'question')[0].id}:ana@example.org"


def test_anonymous_reporter_can_answer_from_the_question_email(db, make, settings, client):
    import re

    sr, _token = private_request(make)
    updates.ask_resident(db, settings=settings, request=sr, question="Which side?", actor=None)
    [message] = _outbox(db)
    assert message.to_address == "pat@example.org"
    link = re.search(r"http://portal.test(/requests/\S+/access/\S+)", message.body_text)
    assert link, message.body_text
    assert client.get(f"/requests/{sr.reference}").status_code == 404
    assert client.get(link.group(1)).status_code == 302
    page = client.get(f"/requests/{sr.reference}")
    assert page.status_code == 200 and "Which side?" in page.get_data(as_text=True)
    tampered = link.group(1)[:-3] + "xyz"
    assert client.application.test_client().get(tampered).status_code == 404


def test_resident_comments_are_not_emailed(db, make, settings):
    sr = make.request(contact_email="reporter@example.org")
    follow_request(
        db,
        settings=settings,
        request=sr,
        email="fan@example.org",
        user=make.user(email="fan@example.org"),
        locale="en",
    )
    updates.post_comment(
        db, settings=settings, request=sr, body="My own words", actor=None, actor_kind="resident"
    )
    assert _outbox(db) == []
    updates.post_comment(
        db, settings=settings, request=sr, body="Crew on site", actor=None, actor_kind="staff"
    )
    assert sorted(m.to_address for m in _outbox(db)) == ["fan@example.org", "reporter@example.org"]


# --- my requests ----------------------------------------------------------------------------


def test_my_requests_needs_sign_in(client):
    response = client.get("/my/requests")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/account/sign-in?next=")
    assert "my/requests" in response.headers["Location"]


def test_my_requests_are_newest_first_and_paginated(client, db, make, settings):
    me = make.user()
    someone_else = make.user()
    start = clock.now() - timedelta(days=30)
    mine = []
    for day in range(25):
        clock.freeze(start + timedelta(days=day))
        mine.append(make.request(reporter=me))
    make.request(reporter=someone_else)
    followed = make.request()
    clock.freeze(None)
    follow_request(db, settings=settings, request=followed, email=me.email, user=me, locale="en")
    sign_in(client, me)

    first = client.get("/my/requests").get_data(as_text=True)
    refs = re.findall(r'<th scope="row"[^>]*><a href="/requests/([^"]+)"', first)
    assert refs == [sr.reference for sr in reversed(mine)][:20]
    assert followed.reference in first
    assert "Newer" not in first
    older = re.search(r'href="(/my/requests\?before=[^"]+)"', first)
    assert older, first
    second = client.get(older.group(1).replace("&amp;", "&")).get_data(as_text=True)
    refs2 = re.findall(r'<th scope="row"[^>]*><a href="/requests/([^"]+)"', second)
    assert refs2 == [sr.reference for sr in reversed(mine)][20:]
    assert "Older" not in second
    newer = re.search(r'href="(/my/requests\?after=[^"]+)"', second)
    assert newer
    back = client.get(newer.group(1)).get_data(as_text=True)
    assert re.findall(r'<th scope="row"[^>]*><a href="/requests/([^"]+)"', back) == refs
    # A garbled cursor is the first page, not an error.
    assert client.get("/my/requests?before=nonsense").status_code == 200


def test_out_of_range_numbers_in_urls_are_404_not_500(client, make):
    sr = make.request()
    huge = "9" * 30
    assert client.get(f"/requests/{sr.reference}/photos/{huge}").status_code == 404
    assert client.get(f"/requests/SR-2026-{'9' * 12}").status_code == 404
    me = make.user()
    sign_in(client, me)
    assert client.get(f"/my/requests?before=20260101000000000000-{huge}").status_code == 200
    csrf = page_token(client, "/my/alerts/")
    assert client.post(f"/my/alerts/{huge}/remove", data={"csrf_token": csrf}).status_code == 404
