"""FixMyStreet's servicerequestupdates extension: an app reads a request's public updates and
posts the reporter's reply with the reporter's token, through the web reply's own path (the
same events, status moves, staff notices, reopening window); filings from a known app show
which app on the case page."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from xml.etree import ElementTree as ET  # noqa: N817 - the usual name

import pytest
from PIL import Image
from sqlalchemy import func, select

from portal.core import clock
from portal.notifications.models import StaffNotice
from portal.open311 import keys
from portal.requests import access, updates
from portal.requests.models import Event, RequestPhoto, ServiceRequest
from tests.conftest import csrf_from, sign_in
from tests.factories import INSIDE

PREFIX = "/open311/v2"
FORMATS = ("json", "xml")


@pytest.fixture(autouse=True)
def _real_time():
    yield
    clock.freeze(None)


class City:
    def __init__(self, make, db) -> None:
        make.area()
        self.streets = make.department(code="streets", name="Streets")
        self.agent = make.staff(self.streets, name="Ada Agent")
        self.pothole = make.category(code="pothole", name="Pothole", department=self.streets)
        self.welfare = make.category(
            code="welfare", name="Welfare check", department=self.streets, private=True
        )
        self.key, self.raw = keys.new_key(
            db, label="CityApp iOS", rate_limit="600/minute", contact_email="", by=None
        )
        self.other, self.other_raw = keys.new_key(
            db, label="Other app", rate_limit="600/minute", contact_email="", by=None
        )
        db.flush()


@pytest.fixture
def city(make, db) -> City:
    return City(make, db)


def _rows(response, fmt: str, root: str = "service_requests_updates") -> list[dict]:
    body = response.get_data(as_text=True)
    if fmt == "json":
        assert response.content_type == "application/json; charset=utf-8"
        return json.loads(body)
    assert response.content_type == "text/xml; charset=utf-8"
    element = ET.fromstring(body.split("\n", 1)[1])
    assert element.tag == root, element.tag
    item = {"errors": "error", "service_requests": "request"}.get(root, "request_update")
    assert all(child.tag == item for child in element)
    return [{c.tag: c.text for c in entry} for entry in element]


def _errors(response, fmt: str) -> list[str]:
    return [e["description"] for e in _rows(response, fmt, "errors")]


def _file(client, city, fmt="json", **extra) -> tuple[str, str]:
    """File a request as the app; its reference and token."""
    response = client.post(
        f"{PREFIX}/requests.{fmt}",
        data={
            "api_key": city.raw,
            "service_code": extra.pop("service_code", "pothole"),
            "lat": str(INSIDE[0]),
            "long": str(INSIDE[1]),
            "description": "A hole by the school",
            "email": "rita@example.org",
            **extra,
        },
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    answer = _rows(response, fmt, "service_requests")[0] if fmt == "xml" else response.get_json()[0]
    return answer["service_request_id"], answer["token"]


def _reply(client, city, reference, token, fmt="json", **form):
    data = {"api_key": city.raw, "service_request_id": reference, "token": token, **form}
    return client.post(f"{PREFIX}/servicerequestupdates.{fmt}", data=data)


def _request(db, reference) -> ServiceRequest:
    sr = db.scalar(select(ServiceRequest).where(ServiceRequest.reference == reference))
    db.refresh(sr)
    return sr


def _events(db, sr, kind=None) -> list[Event]:
    query = select(Event).where(Event.request_id == sr.id).order_by(Event.id)
    if kind:
        query = query.where(Event.kind == kind)
    return list(db.scalars(query))


# -- the conversation --------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_app_reads_the_question_and_answers_it_like_the_web(client, db, city, settings, fmt):
    reference, token = _file(client, city, fmt)
    sr = _request(db, reference)
    updates.ask_resident(
        db, settings=settings, request=sr, question="Which side of the road?", actor=city.agent
    )
    db.add(Event(request_id=sr.id, kind="internal_note", public=False, body="Secret note"))
    db.flush()

    read = client.get(f"{PREFIX}/requests/{reference}/updates.{fmt}")
    assert read.status_code == 200, read.get_data(as_text=True)
    rows = _rows(read, fmt)
    assert [r["description"] for r in rows] == ["Which side of the road?"]
    question = rows[0]
    assert question["service_request_id"] == reference
    assert question["status"] == "investigating"
    assert question["external_status_code"] == "waiting_on_resident"
    assert question["author"] == "city" and question["update_type"] == "question"
    body = read.get_data(as_text=True)
    assert "Secret note" not in body and "Ada Agent" not in body and "rita@" not in body

    answered = _reply(client, city, reference, token, fmt, description="The north side.")
    assert answered.status_code == 201, answered.get_data(as_text=True)
    update_id = _rows(answered, fmt, "service_request_updates")[0]["update_id"]
    sr = _request(db, reference)
    assert sr.status == "in_progress"
    answer = _events(db, sr, "answer")
    assert [str(e.id) for e in answer] == [update_id]
    assert answer[0].body == "The north side." and answer[0].actor_kind == "resident"
    assert answer[0].data["app"] == "CityApp iOS"
    assert answer[0].data["from"] == "waiting_on_resident"
    # Staff are told exactly as for a web reply.
    notices = list(db.scalars(select(StaffNotice).where(StaffNotice.request_id == sr.id)))
    assert [n.kind for n in notices] == ["resident_answered"]

    rows = _rows(client.get(f"{PREFIX}/requests/{reference}/updates.{fmt}"), fmt)
    assert [(r["update_type"], r["author"], r["status"]) for r in rows] == [
        ("question", "city", "investigating"),
        ("answer", "resident", "in_progress"),
    ]

    # A comment on a request that waits for nothing stays a comment.
    commented = _reply(client, city, reference, token, fmt, description="It got bigger.")
    assert commented.status_code == 201
    assert [e.body for e in _events(db, sr, "comment")] == ["It got bigger."]
    notices = list(db.scalars(select(StaffNotice).where(StaffNotice.request_id == sr.id)))
    assert sorted(n.kind for n in notices) == ["resident_answered", "resident_wrote"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_refusals_write_nothing(client, db, city, settings, fmt):
    reference, token = _file(client, city, fmt)
    sr = _request(db, reference)
    before = len(_events(db, sr))

    wrong = _reply(client, city, reference, token[:-2] + "xx", fmt, description="Hi")
    assert wrong.status_code == 403
    assert "token" in _errors(wrong, fmt)[0]
    missing = _reply(client, city, reference, "", fmt, description="Hi")
    assert missing.status_code == 403
    empty = _reply(client, city, reference, token, fmt, description="   ")
    assert empty.status_code == 400
    assert _errors(empty, fmt) == ["description was not provided: write the reply's text."]
    long = _reply(client, city, reference, token, fmt, description="x" * 2001)
    assert long.status_code == 400
    closing = _reply(client, city, reference, token, fmt, description="Fixed!", status="closed")
    assert closing.status_code == 400
    assert "status 'closed'" in _errors(closing, fmt)[0]
    unknown = _reply(client, city, "SR-2020-999999", token, fmt, description="Hi")
    assert unknown.status_code == 404
    no_key = client.post(
        f"{PREFIX}/servicerequestupdates.{fmt}",
        data={"service_request_id": reference, "token": token, "description": "Hi"},
    )
    assert no_key.status_code == 403
    assert len(_events(db, _request(db, reference))) == before


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_closed_request_refuses_replies_and_reopens_within_the_window(
    client, db, city, settings, fmt
):
    reference, token = _file(client, city, fmt)
    sr = _request(db, reference)
    updates.change_status(db, settings=settings, request=sr, target="resolved", actor=city.agent)
    db.flush()

    closed = _reply(client, city, reference, token, fmt, description="Thanks")
    assert closed.status_code == 409
    assert "closed for replies" in _errors(closed, fmt)[0]

    reopened = _reply(client, city, reference, token, fmt, description="Not fixed", status="OPEN")
    assert reopened.status_code == 201, reopened.get_data(as_text=True)
    sr = _request(db, reference)
    assert sr.status == "in_progress"
    assert [e.body for e in _events(db, sr, "reopened")] == ["Not fixed"]

    updates.change_status(db, settings=settings, request=sr, target="resolved", actor=city.agent)
    db.flush()
    clock.freeze(clock.now() + timedelta(days=settings.reopen_days + 1))
    late = _reply(client, city, reference, token, fmt, description="Again", status="open")
    assert late.status_code == 409
    assert "can no longer be reopened" in _errors(late, fmt)[0]


def test_a_retried_update_id_returns_the_same_update(client, db, city):
    reference, token = _file(client, city)
    first = _reply(client, city, reference, token, description="Hello", update_id="fms-42")
    again = _reply(client, city, reference, token, description="Hello", update_id="fms-42")
    assert first.status_code == 201 and again.status_code == 200
    assert first.get_json() == again.get_json()
    assert len(_events(db, _request(db, reference), "comment")) == 1


def test_the_tracking_link_token_works_for_a_request_filed_on_the_web(client, db, city, make):
    token, token_hash = access.new_token()
    sr = make.request(category=city.pothole, tracking_token_hash=token_hash)
    response = _reply(client, city, sr.reference, token, description="From the app")
    assert response.status_code == 201, response.get_data(as_text=True)
    assert [e.body for e in _events(db, sr, "comment")] == ["From the app"]


def test_a_reply_may_carry_a_photo(client, db, city):
    reference, token = _file(client, city)
    picture = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 30, 30)).save(picture, format="PNG")
    response = client.post(
        f"{PREFIX}/servicerequestupdates.json",
        data={
            "api_key": city.raw,
            "service_request_id": reference,
            "token": token,
            "description": "See the photo",
            "media": (io.BytesIO(picture.getvalue()), "hole.png"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    sr = _request(db, reference)
    photos = list(db.scalars(select(RequestPhoto).where(RequestPhoto.request_id == sr.id)))
    assert len(photos) == 1 and photos[0].added_by == "reporter"
    rows = client.get(f"{PREFIX}/requests/{reference}/updates.json").get_json()
    assert [r["update_type"] for r in rows] == ["comment", "photo_added"]
    assert rows[1]["media_url"].endswith(f"/requests/{reference}/photos/{photos[0].id}")
    assert "media_url" not in rows[0]  # no empty element for FixMyStreet's XML reader


# -- reading -----------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_updates_list_is_a_window_oldest_first_and_paged(client, db, city, make, fmt):
    now = clock.now()
    sr = make.request(category=city.pothole)
    old = make.event(sr, body="Old news", created_at=now - timedelta(days=3))
    first = make.event(sr, body="First", created_at=now - timedelta(hours=2))
    second = make.event(
        sr,
        kind="status_changed",
        body="On our list",
        data={"from": "new", "to": "scheduled"},
        created_at=now - timedelta(hours=1),
    )
    make.event(sr, kind="internal_note", public=False, body="Hidden", created_at=now)
    make.event(sr, kind="expected_changed", body="", created_at=now)

    listed = client.get(f"{PREFIX}/servicerequestupdates.{fmt}")
    assert listed.status_code == 200
    rows = _rows(listed, fmt)
    assert [r["update_id"] for r in rows] == [str(first.id), str(second.id)]
    assert [r["status"] for r in rows] == ["open", "action_scheduled"]

    start = (now - timedelta(days=4)).isoformat()
    end = (now - timedelta(hours=1, minutes=30)).isoformat()
    window = client.get(
        f"{PREFIX}/servicerequestupdates.{fmt}", query_string={"start_date": start, "end_date": end}
    )
    assert [r["update_id"] for r in _rows(window, fmt)] == [str(old.id), str(first.id)]
    paged = client.get(
        f"{PREFIX}/servicerequestupdates.{fmt}",
        query_string={"start_date": start, "end_date": end, "page": "2", "page_size": "1"},
    )
    assert [r["update_id"] for r in _rows(paged, fmt)] == [str(first.id)]

    for bad, message in (
        ({"start_date": "yesterday"}, "start_date must be a W3C date-time"),
        ({"start_date": start, "end_date": (now + timedelta(days=40)).isoformat()}, "31 days"),
        ({"page_size": "5000"}, "page_size must be a whole number"),
        ({"status": "open"}, "Unknown parameter 'status'"),
    ):
        refused = client.get(f"{PREFIX}/servicerequestupdates.{fmt}", query_string=bad)
        assert refused.status_code == 400, bad
        assert message in _errors(refused, fmt)[0], (bad, _errors(refused, fmt))


def test_a_private_request_is_read_only_with_the_key_that_filed_it(client, db, city, settings):
    reference, _token = _file(client, city, service_code="welfare")
    sr = _request(db, reference)
    updates.post_comment(
        db,
        settings=settings,
        request=sr,
        body="We will visit.",
        actor=city.agent,
        actor_kind="staff",
    )
    db.flush()
    path = f"{PREFIX}/requests/{reference}/updates.json"
    assert client.get(path).status_code == 404
    assert client.get(path, query_string={"api_key": city.other_raw}).status_code == 404
    assert client.get(path, query_string={"api_key": "nonsense"}).status_code == 403
    own = client.get(path, query_string={"api_key": city.raw})
    assert [r["description"] for r in own.get_json()] == ["We will visit."]

    listed = client.get(f"{PREFIX}/servicerequestupdates.json")
    assert reference not in {r["service_request_id"] for r in listed.get_json()}
    mine = client.get(f"{PREFIX}/servicerequestupdates.json", query_string={"api_key": city.raw})
    assert reference in {r["service_request_id"] for r in mine.get_json()}


# -- which app ---------------------------------------------------------------------------------


def test_the_case_page_shows_which_app_filed_it(client, db, city):
    reference, _token = _file(client, city)
    sr = _request(db, reference)
    assert (sr.channel, sr.channel_detail) == ("api", "CityApp iOS")
    sign_in(client, city.agent)
    page = client.get(f"/staff/cases/{reference}")
    assert page.status_code == 200, page.status_code
    assert "API: CityApp iOS" in page.get_data(as_text=True)
    assert csrf_from  # the staff page is a signed-in page like any other
    assert db.scalar(select(func.count()).select_from(Event).where(Event.request_id == sr.id))


def test_a_reply_from_a_browser_app_needs_its_origin_on_the_key(client, db, city):
    """The Open311 CORS rules of a POST apply to replies too (a form POST needs no
    preflight, so a foreign origin is checked on the POST itself)."""
    reference, token = _file(client, city)
    sr = _request(db, reference)
    app_origin = "https://app.example.org"
    form = {"api_key": city.raw, "service_request_id": reference, "token": token}
    refused = client.post(
        f"{PREFIX}/servicerequestupdates.json",
        data={**form, "description": "From a page"},
        headers={"Origin": app_origin},
    )
    assert refused.status_code == 403
    assert "not registered on this api_key" in refused.get_json()[0]["description"]
    assert _events(db, sr, "comment") == []
    as_json = client.post(f"{PREFIX}/servicerequestupdates.json", json=form)
    assert as_json.status_code == 415

    city.key.allowed_origins = app_origin
    db.flush()
    allowed = client.post(
        f"{PREFIX}/servicerequestupdates.json",
        data={**form, "description": "From a page"},
        headers={"Origin": app_origin},
    )
    assert allowed.status_code == 201, allowed.get_data(as_text=True)
    assert allowed.headers["Access-Control-Allow-Origin"] == app_origin
    assert [e.body for e in _events(db, sr, "comment")] == ["From a page"]


def test_an_unchanged_updates_list_is_a_304(client, db, city, make):
    sr = make.request(category=city.pothole)
    make.event(sr, body="On our list")
    path = f"{PREFIX}/requests/{sr.reference}/updates.json"
    first = client.get(path)
    assert first.status_code == 200 and first.headers["ETag"]
    again = client.get(path, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    make.event(sr, body="Crew on the way")
    changed = client.get(path, headers={"If-None-Match": first.headers["ETag"]})
    assert changed.status_code == 200
    assert [r["description"] for r in changed.get_json()] == ["On our list", "Crew on the way"]
