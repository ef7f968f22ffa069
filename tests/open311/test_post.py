"""Open311 POST requests.{xml,json}: filing through the same submit_request as the web form
(routing, a task in the department's queue with its SLA clock, the confirmation email), both
list-attribute encodings, photos, the api_key rules, every refusal as an Open311 error in both
formats with nothing written, and the per-key rate limit."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from pathlib import Path
from xml.etree import ElementTree as ET  # noqa: N817 - the usual name

import pytest
from PIL import Image
from sqlalchemy import func, select

from portal import create_app
from portal.casework.models import Task
from portal.core.outbox import OutboxMessage
from portal.open311 import keys
from portal.open311.models import ApiKey
from portal.requests.models import Event, RequestPhoto, ServiceRequest
from portal.sla.models import SlaClock, SlaPolicy
from tests.conftest import sign_in
from tests.factories import INSIDE, OUTSIDE, Factories

FORMATS = ("json", "xml")


class City:
    """An area, a Streets department with an agent, an SLA policy, and a pothole service with
    a required number, a required list, an optional yes/no and an optional date."""

    def __init__(self, make: Factories, db) -> None:
        make.area()
        self.streets = make.department(code="streets", name="Streets")
        self.agent = make.staff(self.streets, name="Ada Agent")
        db.add(SlaPolicy(name="Default", first_response_amount=8, resolution_amount=16))
        self.pothole = make.category(
            code="pothole",
            name="Pothole",
            department=self.streets,
            notice="Potholes are filled within a week.",
            questions=[
                {"code": "depth", "kind": "number", "required": True},
                {
                    "code": "lanes",
                    "kind": "multi",
                    "required": True,
                    "options": [
                        {"key": "left", "label": "Left"},
                        {"key": "right", "label": "Right"},
                        {"key": "bike", "label": "Bike lane"},
                    ],
                },
                {"code": "blocking", "kind": "yesno"},
                {"code": "seen_on", "kind": "date"},
                {
                    "code": "gas",
                    "kind": "yesno",
                    "stop_values": ["yes"],
                    "stop_message": "Call 911 now.",
                },
            ],
        )
        self.inactive = make.category(code="old-service", active=False)
        self.key, self.raw = keys.new_key(
            db, label="FixIt app", rate_limit="60/minute", contact_email="", by=None
        )
        db.flush()


@pytest.fixture
def city(make, db) -> City:
    return City(make, db)


def _form(city: City, **changes) -> dict:
    form = {
        "api_key": city.raw,
        "service_code": "pothole",
        "lat": str(INSIDE[0]),
        "long": str(INSIDE[1]),
        "description": "A deep hole by the school",
        "attribute[depth]": "12",
        "attribute[lanes][]": ["left", "bike"],
        "email": "Reporter@Example.org",
        "first_name": "Rita",
        "last_name": "Reporter",
        "phone": "(555) 010-2030",
    }
    for name, value in changes.items():
        name = name.replace("__", "")
        if value is None:
            form.pop(name, None)
        else:
            form[name] = value
    return form


def _parse(response, fmt: str) -> list[dict]:
    body = response.get_data(as_text=True)
    if fmt == "json":
        assert response.content_type == "application/json; charset=utf-8"
        return json.loads(body)
    assert response.content_type == "text/xml; charset=utf-8"
    assert body.startswith('<?xml version="1.0" encoding="utf-8"?>')
    root = ET.fromstring(body.split("\n", 1)[1])
    return [{child.tag: child.text for child in entry} for entry in root]


def _errors(response, fmt: str) -> list[str]:
    body = response.get_data(as_text=True)
    if fmt == "xml":
        root = ET.fromstring(body.split("\n", 1)[1])
        assert root.tag == "errors"
        assert all(entry.tag == "error" for entry in root)
    entries = _parse(response, fmt)
    assert entries, body
    assert {e["code"] for e in entries} == {str(response.status_code)}
    return [e["description"] for e in entries]


def _count(db, model) -> int:
    return db.scalar(select(func.count()).select_from(model))


def _png(size=(40, 30), colour=(200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, format="PNG")
    return out.getvalue()


# -- filing ------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_post_files_a_request_like_the_web_form(client, db, city, fmt):
    response = client.post(
        f"/open311/v2/requests.{fmt}",
        data=_form(
            city,
            media_url="https://img.example.org/p/1.jpg",
            device_id="device-9",
            account_id="acct-42",
            **{"attribute[blocking]": "true", "attribute[seen_on]": "2026-03-02T23:30:00Z"},
        ),
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    [answer] = _parse(response, fmt)
    assert set(answer) == {"service_request_id", "token", "service_notice", "account_id"}
    filed = db.scalar(
        select(ServiceRequest).where(ServiceRequest.reference == answer["service_request_id"])
    )
    assert filed is not None
    assert answer["token"] == filed.api_token and len(filed.api_token) == 32
    assert answer["service_notice"] == "Potholes are filled within a week."
    assert answer["account_id"] == "acct-42"
    assert filed.channel == "api"
    assert filed.api_key_id == city.key.id
    assert filed.media_url == "https://img.example.org/p/1.jpg"
    assert filed.description == "A deep hole by the school"
    assert filed.contact_name == "Rita Reporter"
    assert filed.contact_email == "reporter@example.org"
    assert filed.answers == {
        "depth": 12,
        "lanes": ["left", "bike"],
        "blocking": "yes",
        "seen_on": "2026-03-02",
    }  # 23:30 UTC is still the 2nd in Chicago
    assert filed.department_id == city.streets.id
    submitted = db.scalar(
        select(Event).where(Event.request_id == filed.id, Event.kind == "submitted")
    )
    assert submitted.data == {"channel": "api", "device_id": "device-9", "account_id": "acct-42"}
    db.refresh(city.key)
    assert (city.key.use_count, city.key.filed_count) == (1, 1)
    assert city.key.last_used_at is not None


def test_the_filed_request_is_in_the_department_queue_with_its_sla(client, db, city, app):
    response = client.post("/open311/v2/requests.json", data=_form(city))
    reference = response.get_json()[0]["service_request_id"]
    filed = db.scalar(select(ServiceRequest).where(ServiceRequest.reference == reference))
    task = db.scalar(select(Task).where(Task.request_id == filed.id))
    assert task.department_id == city.streets.id and task.is_open
    assert task.sla_stage == "running" and task.due_at is not None
    clocks = db.scalars(select(SlaClock).where(SlaClock.request_id == filed.id)).all()
    assert {c.kind for c in clocks} >= {"resolution"}
    assert filed.expected_at is not None
    staff = app.test_client()
    sign_in(staff, city.agent)
    page = staff.get("/staff/queue/department?sla=on_time").get_data(as_text=True)
    assert reference in page
    assert ">On time</span>" in page


def test_the_reporter_gets_the_confirmation_with_a_tracking_link(client, db, city):
    response = client.post("/open311/v2/requests.json", data=_form(city))
    reference = response.get_json()[0]["service_request_id"]
    [message] = db.scalars(
        select(OutboxMessage).where(OutboxMessage.to_address == "reporter@example.org")
    ).all()
    assert message.kind == "request_confirmation"
    assert f"http://portal.test/requests/{reference}" in message.body_text
    assert f"http://portal.test/requests/{reference}/access/" in message.body_text


def test_no_email_no_confirmation(client, db, city):
    response = client.post("/open311/v2/requests.json", data=_form(city, email=None))
    assert response.status_code == 201
    assert _count(db, OutboxMessage) == 0


@pytest.mark.parametrize(
    "lanes",
    [
        {"attribute[lanes][]": ["right", "left"]},
        {"attribute[lanes]": ["right", "left"]},
        {"attribute[lanes][]": "right", "attribute[lanes]": "left"},
    ],
    ids=["brackets", "repeated", "mixed"],
)
def test_both_list_attribute_encodings(client, db, city, lanes):
    form = _form(city, **{"attribute[lanes][]": None})
    form.update(lanes)
    response = client.post("/open311/v2/requests.json", data=form)
    assert response.status_code == 201, response.get_data(as_text=True)
    filed = db.scalar(
        select(ServiceRequest).where(
            ServiceRequest.reference == response.get_json()[0]["service_request_id"]
        )
    )
    assert filed.answers["lanes"] == ["left", "right"]  # in the service's order


def test_api_key_in_the_query_string(client, db, city):
    response = client.post(
        f"/open311/v2/requests.xml?api_key={city.raw}", data=_form(city, api_key=None)
    )
    assert response.status_code == 201
    assert _parse(response, "xml")[0]["service_request_id"].startswith("SR-")


def test_empty_parameters_are_absent_and_the_optional_ones_may_go(client, db, city):
    """Only service_code, a location and the required attributes: no description, no
    contact; empty values count as not sent."""
    form = {
        "api_key": city.raw,
        "service_code": "pothole",
        "address_id": "A-7731",
        "attribute[depth]": "3",
        "attribute[lanes]": "left",
        "lat": "",
        "long": " ",
        "email": "",
        "description": "",
        "jurisdiction_id": "",
        "media_url": "",
    }
    response = client.post("/open311/v2/requests.json", data=form)
    assert response.status_code == 201, response.get_data(as_text=True)
    filed = db.scalar(
        select(ServiceRequest).where(
            ServiceRequest.reference == response.get_json()[0]["service_request_id"]
        )
    )
    assert filed.description == ""
    assert (filed.address_id, filed.address, filed.lat) == ("A-7731", "address_id A-7731", None)
    assert response.get_json()[0]["account_id"] is None


def test_address_string_and_the_right_jurisdiction(client, db, city):
    response = client.post(
        "/open311/v2/requests.json",
        data=_form(
            city,
            lat=None,
            long=None,
            address_string="100 Main Street",
            jurisdiction_id="riverton.example",
        ),
    )
    assert response.status_code == 201
    filed = db.scalar(
        select(ServiceRequest).where(
            ServiceRequest.reference == response.get_json()[0]["service_request_id"]
        )
    )
    assert filed.address == "100 Main Street"


def test_photos_sent_as_multipart_files_are_stored(client, db, city, settings):
    form = _form(city)
    form["media"] = (io.BytesIO(_png()), "hole.png")
    form["photo2"] = (io.BytesIO(_png(colour=(0, 90, 0))), "")
    response = client.post(
        "/open311/v2/requests.json", data=form, content_type="multipart/form-data"
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    filed = db.scalar(
        select(ServiceRequest).where(
            ServiceRequest.reference == response.get_json()[0]["service_request_id"]
        )
    )
    photos = db.scalars(select(RequestPhoto).where(RequestPhoto.request_id == filed.id)).all()
    assert len(photos) == 2
    assert all(p.public for p in photos)
    for photo in photos:
        stored = Path(settings.upload_dir) / photo.storage_key
        with Image.open(stored) as image:
            assert image.format == "JPEG"
    shown = client.get(f"/requests/{filed.reference}/photos/{photos[0].id}")
    assert shown.status_code == 200 and shown.content_type == "image/jpeg"
    shown.close()


def test_nameless_multipart_parts_are_taken_not_a_500(client, db, city):
    """A part without a name (found by the schema fuzzer: it was a 500): a nameless field names
    no parameter and is ignored; a nameless file is still a photo."""
    parts = [
        f'--b\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode()
        for key, values in _form(city).items()
        for value in (values if isinstance(values, list) else [values])
    ]
    parts.append(b"--b\r\nContent-Disposition: form-data\r\n\r\nstray\r\n")
    parts.append(
        b'--b\r\nContent-Disposition: form-data; filename="hole.png"\r\n'
        b"Content-Type: image/png\r\n\r\n" + _png() + b"\r\n"
    )
    response = client.post(
        "/open311/v2/requests.json",
        data=b"".join(parts) + b"--b--\r\n",
        content_type="multipart/form-data; boundary=b",
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    filed = db.scalar(
        select(ServiceRequest).where(
            ServiceRequest.reference == response.get_json()[0]["service_request_id"]
        )
    )
    assert db.scalar(select(func.count()).where(RequestPhoto.request_id == filed.id)) == 1


def test_the_token_resolves_to_the_request(client, city):
    answer = client.post("/open311/v2/requests.json", data=_form(city)).get_json()[0]
    for fmt in FORMATS:
        response = client.get(f"/open311/v2/tokens/{answer['token']}.{fmt}")
        assert response.status_code == 200, response.get_data(as_text=True)
        [entry] = _parse(response, fmt)
        assert entry["service_request_id"] == answer["service_request_id"]
        assert entry["token"] == answer["token"]


def test_the_filed_request_reads_back_without_personal_details(client, city):
    answer = client.post("/open311/v2/requests.json", data=_form(city)).get_json()[0]
    response = client.get(f"/open311/v2/requests/{answer['service_request_id']}.json")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert answer["service_request_id"] in body
    for private in ("Rita", "Reporter", "reporter@example.org", "010-2030"):
        assert private not in body


# -- refusals ------------------------------------------------------------------------------------


def _too_many_photos(city):
    form = _form(city)
    for n in range(4):
        form[f"media{n}"] = (io.BytesIO(_png()), f"p{n}.png")
    return form


def _bad_photo(city):
    form = _form(city)
    form["media"] = (io.BytesIO(_png()), "fine.png")
    form["media2"] = (io.BytesIO(b"%PDF-1.4 not a photo"), "report.pdf")
    return form


REFUSALS = {
    "no key": (lambda c: _form(c, api_key=None), 403, ["api_key was not provided"]),
    "empty key": (lambda c: _form(c, api_key=""), 403, ["api_key was not provided"]),
    "bad key": (lambda c: _form(c, api_key="not-a-key"), 403, ["api_key is not valid"]),
    "other jurisdiction": (
        lambda c: _form(c, jurisdiction_id="elsewhere.example"),
        404,
        ["Unknown jurisdiction_id 'elsewhere.example'"],
    ),
    "no service_code": (
        lambda c: _form(c, service_code=None),
        400,
        ["service_code was not provided"],
    ),
    "unknown service": (
        lambda c: _form(c, service_code="unicorns"),
        400,
        ["service_code 'unicorns' was not found"],
    ),
    "inactive service": (
        lambda c: _form(c, service_code="old-service"),
        400,
        ["service_code 'old-service' was not found"],
    ),
    "no location": (lambda c: _form(c, lat=None, long=None), 400, ["A location is required"]),
    "lat without long": (
        lambda c: _form(c, long=None),
        400,
        ["lat and long must be sent together"],
    ),
    "long not a number": (lambda c: _form(c, long="west"), 400, ["long must be a number"]),
    "lat not finite": (lambda c: _form(c, lat="nan"), 400, ["lat must be a number"]),
    "outside the city": (
        lambda c: _form(c, lat=str(OUTSIDE[0]), long=str(OUTSIDE[1])),
        400,
        ["outside the area this jurisdiction serves"],
    ),
    "description 4,001": (
        lambda c: _form(c, description="x" * 4001),
        400,
        ["description must be 4,000 characters or fewer"],
    ),
    "missing required attributes": (
        lambda c: _form(c, **{"attribute[depth]": None, "attribute[lanes][]": None}),
        400,
        ["attribute[depth] is required", "attribute[lanes] is required"],
    ),
    "bad list value": (
        lambda c: _form(c, **{"attribute[lanes][]": ["left", "sidewalk"]}),
        400,
        ["attribute[lanes] must be one of the keys of its values"],
    ),
    "not a number": (
        lambda c: _form(c, **{"attribute[depth]": "deep"}),
        400,
        ["attribute[depth] must be a number"],
    ),
    "two values for one": (
        lambda c: _form(c, **{"attribute[depth]": ["1", "2"]}),
        400,
        ["attribute[depth] takes one value; 2 were sent"],
    ),
    "unknown attribute": (
        lambda c: _form(c, **{"attribute[colour]": "red", "attribute[size][]": "big"}),
        400,
        ["attribute[colour] is not an attribute", "attribute[size] is not"],
    ),
    "malformed attribute": (
        lambda c: _form(c, **{"attribute[depth": "3"}),
        400,
        ["'attribute[depth' is not an attribute parameter"],
    ),
    "stopping answer": (
        lambda c: _form(c, **{"attribute[gas]": "yes"}),
        400,
        ["attribute[gas]: this service cannot be requested with that answer. Call 911 now."],
    ),
    "bad media_url": (
        lambda c: _form(c, media_url="javascript:alert(1)"),
        400,
        ["media_url must be an http or https URL"],
    ),
    "long media_url": (
        lambda c: _form(c, media_url="https://x.example/" + "a" * 500),
        400,
        ["media_url must be an http or https URL"],
    ),
    "bad email": (
        lambda c: _form(c, email="not an email"),
        400,
        ["email is not a valid email address"],
    ),
    "bad phone": (lambda c: _form(c, phone="call me maybe"), 400, ["phone must be"]),
    "bad photo": (_bad_photo, 400, ["The file 'report.pdf' in 'media2' is not an image"]),
    "too many photos": (_too_many_photos, 400, ["At most 3 photos"]),
    "several problems": (
        lambda c: _form(c, long=None, description="x" * 4001, **{"attribute[depth]": None}),
        400,
        [
            "lat and long must be sent together",
            "description must be 4,000",
            "attribute[depth] is required",
        ],
    ),
}


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("case", list(REFUSALS))
def test_refusals_are_open311_errors_and_write_nothing(client, db, city, settings, fmt, case):
    build, status, expected = REFUSALS[case]
    before = (_count(db, ServiceRequest), _count(db, RequestPhoto), _count(db, OutboxMessage))
    form = build(city)
    multipart = any(isinstance(v, tuple) for v in form.values())
    response = client.post(
        f"/open311/v2/requests.{fmt}",
        data=form,
        content_type="multipart/form-data" if multipart else None,
    )
    assert response.status_code == status, response.get_data(as_text=True)
    descriptions = _errors(response, fmt)
    for text in expected:
        assert any(text in d for d in descriptions), (text, descriptions)
    assert len(descriptions) == len(expected), descriptions  # one entry per problem
    after = (_count(db, ServiceRequest), _count(db, RequestPhoto), _count(db, OutboxMessage))
    assert after == before
    uploads = Path(settings.upload_dir)
    assert not uploads.exists() or not any(uploads.iterdir())


def test_a_revoked_key_is_refused(client, db, city):
    keys.revoke(db, city.key, by=None, now=city.key.created_at)
    response = client.post("/open311/v2/requests.json", data=_form(city))
    assert response.status_code == 403
    assert _errors(response, "json") == ["api_key is not valid (unknown or revoked)."]
    assert _count(db, ServiceRequest) == 0


def test_a_refused_call_with_a_valid_key_still_counts_as_a_use(client, db, city):
    response = client.post("/open311/v2/requests.json", data=_form(city, service_code=None))
    assert response.status_code == 400
    db.refresh(city.key)
    assert (city.key.use_count, city.key.filed_count) == (1, 0)
    assert _count(db, ServiceRequest) == 0


def test_unknown_format_and_wrong_method_answer_in_open311_errors(client, city):
    response = client.post("/open311/v2/requests.html", data=_form(city))
    assert response.status_code == 404
    assert _errors(response, "xml")
    response = client.put("/open311/v2/requests.json", data=_form(city))
    assert response.status_code == 405
    assert _errors(response, "json")


# -- rate limits --------------------------------------------------------------------------------


@pytest.fixture
def limited_app(settings):
    """An app with the limiter on (the suite runs with it off) on committed data."""
    from tests.conftest import truncate_all

    application = create_app(replace(settings, ratelimit_enabled=True))
    yield application
    truncate_all(application.extensions["portal.db"])
    application.extensions["portal.db"].dispose()


def test_each_key_has_its_own_rate_limit(limited_app):
    db = limited_app.extensions["portal.db"]
    with db.transaction() as session:
        city = City(Factories(session, limited_app.extensions["portal.settings"]), session)
        tight, tight_raw = keys.new_key(
            session, label="Tight", rate_limit="2/minute", contact_email="", by=None
        )
        form = _form(city)
        other_raw = city.raw
    client = limited_app.test_client()
    for _ in range(2):
        assert (
            client.post(
                "/open311/v2/requests.json", data={**form, "api_key": tight_raw}
            ).status_code
            == 201
        )
    refused = client.post("/open311/v2/requests.xml", data={**form, "api_key": tight_raw})
    assert refused.status_code == 429
    assert _errors(refused, "xml") == ["Too many requests. Wait a minute and try again."]
    # The other key, from the same address, is not held back by the first one's limit.
    assert (
        client.post("/open311/v2/requests.json", data={**form, "api_key": other_raw}).status_code
        == 201
    )
    with db.transaction() as session:
        counts = dict(session.execute(select(ApiKey.label, ApiKey.filed_count)).all())
    assert counts == {"Tight": 2, "FixIt app": 1}


def test_calls_without_a_valid_key_are_limited_per_address(limited_app):
    client = limited_app.test_client()
    statuses = [
        client.post(
            "/open311/v2/requests.json", data={"api_key": f"guess-{n}", "service_code": "x"}
        ).status_code
        for n in range(31)
    ]
    assert statuses[:30] == [403] * 30
    assert statuses[30] == 429
