"""Open311 GeoReport v2 reads: discovery, services, service definitions, request lists, one
request and tokens, in XML and JSON, with the spec's element names and limits."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree as ET  # noqa: N817

import pytest
from sqlalchemy import insert, update

from portal.core import clock
from portal.open311 import queries
from portal.requests.models import Event, RequestPhoto, ServiceRequest
from tests.plans import sqlite_plans

NOW = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
API = "/open311/v2"
DECLARATION = '<?xml version="1.0" encoding="utf-8"?>'
FIELDS = [
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
]


@pytest.fixture(autouse=True)
def frozen() -> Iterator[None]:
    clock.freeze(NOW)
    yield
    clock.freeze(None)


def get_xml(client, path: str, expect: int = 200, /, **query) -> ET.Element:
    response = client.get(f"{API}/{path}.xml", query_string=query)
    assert response.status_code == expect, response.get_data(as_text=True)
    assert response.content_type == "text/xml; charset=utf-8"
    body = response.get_data(as_text=True)
    assert body.startswith(DECLARATION)
    return ET.fromstring(response.data)


def get_json(client, path: str, expect: int = 200, /, **query):
    response = client.get(f"{API}/{path}.json", query_string=query)
    assert response.status_code == expect, response.get_data(as_text=True)
    assert response.content_type == "application/json; charset=utf-8"
    return json.loads(response.data)


def ids_of(client, **query) -> list[str]:
    return [r["service_request_id"] for r in get_json(client, "requests", **query)]


def errors_of(client, path: str, expect: int, /, **query) -> list[str]:
    """The error descriptions in both formats (they must agree), checking the codes."""
    rows = get_json(client, path, expect, **query)
    root = get_xml(client, path, expect, **query)
    assert root.tag == "errors"
    assert [e.tag for e in root] == ["error"] * len(rows)
    assert [e.findtext("code") for e in root] == [str(expect)] * len(rows)
    assert [r["code"] for r in rows] == [str(expect)] * len(rows)
    descriptions = [r["description"] for r in rows]
    assert [e.findtext("description") for e in root] == descriptions
    return descriptions


def w3c(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- discovery and services --------------------------------------------------------------------


def test_discovery_in_both_formats(client, settings):
    document = get_json(client, "discovery")
    assert document["contact"] == settings.open311_contact
    assert document["key_service"] == settings.open311_key_service
    assert document["changeset"].endswith("Z")
    (endpoint,) = document["endpoints"]
    assert endpoint == {
        "specification": "http://wiki.open311.org/GeoReport_v2",
        "url": "http://portal.test/open311/v2",
        "changeset": document["changeset"],
        "type": "production",
        "formats": ["text/xml", "application/json"],
    }
    root = get_xml(client, "discovery")
    assert root.tag == "discovery"
    assert [c.tag for c in root] == ["changeset", "contact", "key_service", "endpoints"]
    endpoint = root.find("endpoints/endpoint")
    assert endpoint.findtext("url") == "http://portal.test/open311/v2"
    assert [f.text for f in endpoint.findall("formats/format")] == ["text/xml", "application/json"]


def test_services_lists_active_categories_in_group_then_category_order(client, make):
    later = make.group(name="Streets", position=2)
    first = make.group(name="Parks", position=1, translations={"es": {"name": "Parques"}})
    pothole = make.category(
        group=later,
        code="pothole",
        name="Pothole",
        position=1,
        keywords="hole, road,asphalt",
        questions=[{"code": "depth", "kind": "number"}],
    )
    make.category(group=later, code="gone", active=False)
    light = make.category(group=later, code="light", name="Streetlight out", position=0)
    bench = make.category(
        group=first,
        code="bench",
        name="Broken bench",
        position=5,
        private=True,
        translations={"es": {"name": "Banco roto"}},
    )

    rows = get_json(client, "services")
    codes = [r["service_code"] for r in rows]
    assert codes.index("bench") < codes.index("light") < codes.index("pothole")
    assert "gone" not in codes
    row = rows[codes.index("pothole")]
    assert row == {
        "service_code": "pothole",
        "service_name": "Pothole",
        "description": pothole.description,
        "metadata": True,
        "type": "realtime",
        "keywords": "hole,road,asphalt",
        "group": "Streets",
        "private": False,
    }
    assert rows[codes.index("light")]["metadata"] is False
    assert light.code == "light" and bench.private  # private categories are still services

    root = get_xml(client, "services")
    assert root.tag == "services"
    services = {s.findtext("service_code"): s for s in root}
    assert all(s.tag == "service" for s in root)
    assert [c.tag for c in services["pothole"]] == [
        "service_code",
        "service_name",
        "description",
        "metadata",
        "type",
        "keywords",
        "group",
        "private",
    ]
    assert services["pothole"].findtext("metadata") == "true"
    assert services["light"].findtext("metadata") == "false"

    spanish = get_json(client, "services", lang="es")
    assert {r["service_code"]: r for r in spanish}["bench"]["service_name"] == "Banco roto"
    assert {r["service_code"]: r for r in spanish}["bench"]["group"] == "Parques"


QUESTIONS = [
    {"code": "note", "kind": "text", "required": True, "prompt": "Tell us more"},
    {"code": "plate", "kind": "text", "max_length": 12, "prompt": "Licence plate"},
    {"code": "count", "kind": "number", "prompt": "How many?"},
    {"code": "since", "kind": "date", "prompt": "Since when?"},
    {"code": "blocking", "kind": "yesno", "required": True, "prompt": "Is it blocking?"},
    {
        "code": "colour",
        "kind": "single",
        "prompt": "Colour",
        "options": [
            {"key": "red", "label": "Red"},
            {"key": "blue", "label": "Blue", "translations": {"es": {"label": "Azul"}}},
        ],
    },
    {
        "code": "sides",
        "kind": "multi",
        "prompt": "Which sides?",
        "options": [{"key": "n", "label": "North"}, {"key": "s", "label": "South"}],
    },
]


def test_service_definition_maps_every_question_kind(client, make):
    make.category(code="car", questions=QUESTIONS)
    document = get_json(client, "services/car")
    assert document["service_code"] == "car"
    attributes = document["attributes"]
    assert [a["code"] for a in attributes] == [q["code"] for q in QUESTIONS]
    assert [a["order"] for a in attributes] == list(range(1, 8))
    assert [a["datatype"] for a in attributes] == [
        "text",
        "string",
        "number",
        "datetime",
        "singlevaluelist",
        "singlevaluelist",
        "multivaluelist",
    ]
    assert [a["required"] for a in attributes] == [True, False, False, False, True, False, False]
    assert all(a["variable"] is True for a in attributes)
    assert attributes[0]["description"] == "Tell us more"
    assert "values" not in attributes[0]
    assert attributes[4]["values"] == [{"key": "yes", "name": "Yes"}, {"key": "no", "name": "No"}]
    assert attributes[5]["values"] == [
        {"key": "red", "name": "Red"},
        {"key": "blue", "name": "Blue"},
    ]
    assert attributes[6]["values"] == [{"key": "n", "name": "North"}, {"key": "s", "name": "South"}]
    assert "12 characters" in attributes[1]["datatype_description"]

    root = get_xml(client, "services/car")
    assert root.tag == "service_definition"
    assert root.findtext("service_code") == "car"
    first = root.find("attributes/attribute")
    assert [c.tag for c in first] == [
        "variable",
        "code",
        "datatype",
        "required",
        "datatype_description",
        "order",
        "description",
    ]
    assert first.findtext("variable") == "true" and first.findtext("order") == "1"
    colour = root.findall("attributes/attribute")[5]
    assert [(v.findtext("key"), v.findtext("name")) for v in colour.findall("values/value")] == [
        ("red", "Red"),
        ("blue", "Blue"),
    ]
    spanish = get_json(client, "services/car", lang="es")["attributes"][5]["values"]
    assert spanish[1] == {"key": "blue", "name": "Azul"}


def test_a_service_without_questions_has_no_attributes(client, make):
    make.category(code="plain")
    assert get_json(client, "services/plain") == {"service_code": "plain", "attributes": []}
    assert get_xml(client, "services/plain").find("attributes") is not None


def test_unknown_or_inactive_service_is_404(client, make):
    make.category(code="retired", active=False)
    for code in ("retired", "nope", "x" * 300):
        (description,) = errors_of(client, f"services/{code}", 404)
        assert "service_code" in description


# -- request lists ----------------------------------------------------------------------------


@pytest.fixture
def town(make, db):
    """Two categories with public requests over the last days, one private request."""
    streets = make.department(name="Streets Department")
    pothole = make.category(
        code="pothole", name="Pothole", department=streets, notice="Crews are busy after the storm."
    )
    light = make.category(code="light", name="Streetlight out")
    reporter = make.user(name="Zelda Quixote", email="zelda.q@example.org")
    made = {}
    for name, category, days, status in [
        ("old", pothole, 5, "resolved"),
        ("mid", light, 3, "in_progress"),
        ("new", pothole, 1, "new"),
    ]:
        clock.freeze(NOW - timedelta(days=days))
        made[name] = make.request(
            category=category,
            status=status,
            reporter=reporter,
            contact_name="Zelda Quixote",
            contact_email="zq@example.org",
            contact_phone="555-0199-444",
            address="12 Elm Street, Riverton, IL 62704",
        )
    clock.freeze(NOW - timedelta(days=2))
    made["private"] = make.request(
        category=pothole, private_by_reporter=True, description="Private matter"
    )
    clock.freeze(NOW)
    return made


def test_request_list_in_both_formats_with_every_field(client, town, db):
    new = town["new"]
    new.expected_at = NOW + timedelta(days=3)
    new.media_url = "https://cdn.example.org/p/1.jpg"
    new.address_id = "ADDR-77"
    db.flush()
    rows = get_json(client, "requests")
    assert [r["service_request_id"] for r in rows] == [
        town[n].reference for n in ("new", "mid", "old")
    ]
    row = rows[0]
    assert list(row) == FIELDS
    assert row["status"] == "open" and rows[2]["status"] == "closed"
    assert row["service_name"] == "Pothole" and row["service_code"] == "pothole"
    assert row["agency_responsible"] == "Streets Department"
    assert row["service_notice"] == "Crews are busy after the storm."
    assert row["description"] == "A deep pothole in the left lane"
    assert row["requested_datetime"] == "2026-03-09T10:00:00-05:00"  # Chicago, after DST
    assert row["expected_datetime"] == "2026-03-13T10:00:00-05:00"
    assert row["zipcode"] == "62704" and row["address_id"] == "ADDR-77"
    assert row["lat"] == 41.0 and row["long"] == -87.0
    assert row["media_url"] == "https://cdn.example.org/p/1.jpg"
    assert rows[1]["media_url"] is None and rows[1]["expected_datetime"] is None
    assert rows[1]["status_notes"] is None
    assert isinstance(row["service_request_id"], str)

    root = get_xml(client, "requests")
    assert root.tag == "service_requests"
    assert [r.tag for r in root] == ["request"] * 3
    first = root[0]
    assert [c.tag for c in first] == FIELDS
    assert first.findtext("service_request_id") == new.reference
    assert first.findtext("long") == "-87.0"
    assert first.find("status_notes").text is None  # null is an empty element


def test_private_requests_are_never_listed_nor_shown(client, town):
    private = town["private"].reference
    assert private not in ids_of(client)
    assert ids_of(client, service_request_id=private) == []
    errors_of(client, f"requests/{private}", 404)
    body = client.get(f"{API}/requests.xml").get_data(as_text=True)
    assert "Private matter" not in body


def test_no_personal_data_in_any_answer(client, town, db, make):
    sr = town["new"]
    staff = make.staff(sr.department, name="Agent Oswaldo Pritchard")
    db.add(
        Event(
            request_id=sr.id,
            kind="internal_note",
            public=False,
            actor_id=staff.id,
            actor_kind="staff",
            body="Caller sounded upset, secret internal",
        )
    )
    db.add(
        Event(
            request_id=sr.id,
            kind="status_changed",
            public=True,
            actor_id=staff.id,
            actor_kind="staff",
            body="Crew scheduled",
            data={"from": "new", "to": "in_progress"},
        )
    )
    db.flush()
    for fmt in ("xml", "json"):
        for path in ("requests", f"requests/{sr.reference}"):
            for extensions in ("", "true"):
                body = client.get(
                    f"{API}/{path}.{fmt}", query_string={"extensions": extensions}
                ).get_data(as_text=True)
                assert sr.reference in body
                for secret in (
                    "Zelda",
                    "Quixote",
                    "zelda.q@example.org",
                    "zq@example.org",
                    "555-0199",
                    "Oswaldo",
                    "Pritchard",
                    "secret internal",
                ):
                    assert secret not in body, (fmt, path, extensions, secret)


def test_status_notes_are_the_latest_public_status_note(client, town, db):
    sr = town["mid"]
    db.add_all(
        [
            Event(
                request_id=sr.id,
                kind="status_changed",
                public=True,
                body="Looking into it",
                data={"from": "new", "to": "acknowledged"},
            ),
            Event(request_id=sr.id, kind="internal_note", public=False, body="internal"),
            Event(
                request_id=sr.id,
                kind="status_changed",
                public=True,
                body="Crew on site",
                data={"from": "acknowledged", "to": "in_progress"},
            ),
        ]
    )
    db.flush()
    (row,) = get_json(client, f"requests/{sr.reference}")
    assert row["status_notes"] == "Crew on site"


def test_filters_by_service_code_and_status(client, town):
    ref = {k: v.reference for k, v in town.items()}
    assert ids_of(client, service_code="pothole") == [ref["new"], ref["old"]]
    assert ids_of(client, service_code="light,pothole") == [ref["new"], ref["mid"], ref["old"]]
    assert ids_of(client, status="open") == [ref["new"], ref["mid"]]
    assert ids_of(client, status="closed") == [ref["old"]]
    assert ids_of(client, status="open,closed") == [ref["new"], ref["mid"], ref["old"]]
    assert ids_of(client, status="closed", service_code="pothole") == [ref["old"]]
    assert ids_of(client, status="open", service_code="light") == [ref["mid"]]


def test_dates_filter_requested_datetime(client, town):
    ref = {k: v.reference for k, v in town.items()}
    assert ids_of(
        client, start_date=w3c(NOW - timedelta(days=4)), end_date=w3c(NOW - timedelta(days=2))
    ) == [ref["mid"]]
    # Any zone: 2026-03-07T09:00-06:00 is 15:00Z, exactly when "mid" was filed.
    assert ids_of(
        client, start_date="2026-03-07T09:00:00-06:00", end_date="2026-03-07T15:00:00Z"
    ) == [ref["mid"]]
    # Only a start: the 90 days after it; only an end: the 90 days before it.
    assert ids_of(client, start_date=w3c(NOW - timedelta(days=2))) == [ref["new"]]
    assert ids_of(client, end_date=w3c(NOW - timedelta(days=2))) == [ref["mid"], ref["old"]]


def test_default_window_is_the_last_90_days(client, make):
    clock.freeze(NOW - timedelta(days=91))
    too_old = make.request()
    clock.freeze(NOW - timedelta(days=89))
    recent = make.request()
    clock.freeze(NOW)
    assert ids_of(client) == [recent.reference]
    # Still reachable with dates of its own, or by id.
    assert ids_of(
        client, start_date=w3c(NOW - timedelta(days=100)), end_date=w3c(NOW - timedelta(days=11))
    ) == [recent.reference, too_old.reference]
    assert ids_of(client, service_request_id=too_old.reference) == [too_old.reference]


def test_service_request_id_overrides_every_other_filter(client, town, make):
    clock.freeze(NOW - timedelta(days=200))
    ancient = make.request()
    clock.freeze(NOW)
    ref = {k: v.reference for k, v in town.items()}
    wanted = f"{ref['old']},{ancient.reference},{ref['mid']},SR-1999-999999"
    # Filters that would exclude them (or are not even valid) are ignored.
    got = ids_of(
        client,
        service_request_id=wanted,
        service_code="light",
        status="open",
        start_date="yesterday",
        end_date=w3c(NOW - timedelta(days=300)),
        page="x",
        page_size="0",
    )
    assert got == [ref["mid"], ref["old"], ancient.reference]
    # Any spelling of a reference finds it.
    assert ids_of(client, service_request_id=ref["mid"].lower()) == [ref["mid"]]
    too_many = ",".join(f"SR-2026-{n:06d}" for n in range(1, 102))
    (description,) = errors_of(client, "requests", 400, service_request_id=too_many)
    assert "at most 100" in description


def test_empty_parameters_are_ignored(client, town):
    everything = ids_of(client)
    assert len(everything) == 3
    empty = {
        name: ""
        for name in (
            "service_request_id",
            "service_code",
            "status",
            "start_date",
            "end_date",
            "page",
            "page_size",
            "jurisdiction_id",
            "extensions",
        )
    }
    assert ids_of(client, **empty) == everything
    assert get_json(client, f"requests/{town['new'].reference}", **empty)
    assert get_json(client, "services", jurisdiction_id="")
    assert get_json(client, "services/pothole", jurisdiction_id="")


def test_every_problem_is_reported(client, town):
    descriptions = errors_of(
        client,
        "requests",
        400,
        status="pending",
        start_date="2026-03-01T00:00:00",
        service_code="pothole,nope,zip",
        page="0",
        page_size="1001",
        extensions="maybe",
    )
    assert len(descriptions) == 7, descriptions
    text = " ".join(descriptions)
    for word in ("extensions", "'nope'", "'zip'", "status", "start_date", "page must", "page_size"):
        assert word in text


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ({"start_date": "2026-03-01T00:00:00"}, "time zone"),
        ({"end_date": "2026-03-01"}, "time zone"),
        ({"start_date": "last week"}, "W3C"),
        ({"start_date": "2026-02-30T00:00:00Z"}, "W3C"),
        ({"start_date": "2026-03-05T00:00:00Z", "end_date": "2026-03-01T00:00:00Z"}, "before"),
        ({"start_date": "2025-12-01T00:00:00Z", "end_date": "2026-03-01T00:00:01Z"}, "90 days"),
        ({"status": "pending"}, "status"),
        ({"status": "open,unknown"}, "status"),
        ({"service_code": "nope"}, "nope"),
        ({"page": "0"}, "page"),
        ({"page": "two"}, "page"),
        ({"page_size": "0"}, "page_size"),
        ({"page_size": "1001"}, "page_size"),
        ({"page_size": "-5"}, "page_size"),
        ({"page_size": "1.5"}, "page_size"),
        ({"extensions": "yes"}, "extensions"),
    ],
)
def test_bad_parameters_are_400(client, town, query, fragment):
    (description,) = errors_of(client, "requests", 400, **query)
    assert fragment in description


def test_exactly_90_days_is_allowed(client, town):
    assert len(ids_of(client, start_date=w3c(NOW - timedelta(days=90)), end_date=w3c(NOW))) == 3


def test_pages(client, town):
    ref = {k: v.reference for k, v in town.items()}
    assert ids_of(client, page_size="2") == [ref["new"], ref["mid"]]
    assert ids_of(client, page_size="2", page="2") == [ref["old"]]
    assert ids_of(client, page_size="2", page="3") == []
    assert ids_of(client, page_size="1000") == [ref["new"], ref["mid"], ref["old"]]


def _bulk(db, category, count: int, *, start: datetime) -> None:
    """``count`` public requests, one a minute back from ``start``, inserted at once."""
    rows = [
        {
            "reference": f"SR-2026-{900000 + n:06d}",
            "category_id": category.id,
            "department_id": category.department_id,
            "description": f"Bulk {n}",
            "created_at": start - timedelta(minutes=n),
            "updated_at": start,
            "status_changed_at": start,
            "status": "new",
            "is_open": True,
            "is_public": True,
            "answers": {},
        }
        for n in range(count)
    ]
    db.execute(insert(ServiceRequest), rows)
    db.flush()


def test_at_most_1000_rows_a_page(client, make, db):
    category = make.category()
    _bulk(db, category, 1001, start=NOW - timedelta(hours=1))
    rows = get_json(client, "requests")
    assert len(rows) == 1000
    assert rows[0]["service_request_id"] == "SR-2026-900000"
    assert rows[-1]["service_request_id"] == "SR-2026-900999"
    assert ids_of(client, page="2") == ["SR-2026-901000"]
    assert len(get_xml(client, "requests")) == 1000


def test_list_reads_the_indexes(db, make):
    if db.get_bind().dialect.name != "sqlite":
        pytest.skip("SQLite query plans")
    category = make.category()
    _bulk(db, category, 50, start=NOW)
    by_date = queries.RequestFilter(start=NOW - timedelta(days=90), end=NOW)
    plans = sqlite_plans(db, lambda: queries.list_requests(db, by_date))
    assert "ix_service_requests_public_created" in plans[0], plans
    assert "SCAN service_requests" not in plans[0]
    by_code = queries.RequestFilter(
        category_ids=(category.id,), start=NOW - timedelta(days=9), end=NOW
    )
    plans = sqlite_plans(db, lambda: queries.list_requests(db, by_code))
    assert "ix_service_requests_category_created" in plans[0], plans
    found = queries.list_requests(db, by_date)
    plans = sqlite_plans(db, lambda: queries.row_extras(db, found, extensions=True))
    assert len(plans) == 3
    assert not any("SCAN request_events" in p or "SCAN request_photos" in p for p in plans)


# -- extensions, one request, tokens ----------------------------------------------------------


def _photo(db, sr, *, public: bool, n: int) -> RequestPhoto:
    photo = RequestPhoto(
        request_id=sr.id,
        storage_key=f"k-{sr.id}-{n}",
        width=10,
        height=10,
        size_bytes=100,
        public=public,
    )
    db.add(photo)
    db.flush()
    return photo


def test_extensions_add_public_history_channel_and_photos(client, town, db):
    sr = town["mid"]
    hidden = _photo(db, sr, public=False, n=1)
    shown = _photo(db, sr, public=True, n=2)
    clock.freeze(NOW - timedelta(hours=2))
    db.add_all(
        [
            Event(
                request_id=sr.id,
                kind="status_changed",
                public=True,
                body="",
                data={"from": "new", "to": "in_progress"},
                created_at=clock.now(),
            ),
            Event(
                request_id=sr.id,
                kind="internal_note",
                public=False,
                body="not for you",
                created_at=clock.now(),
            ),
            Event(
                request_id=sr.id,
                kind="comment",
                public=True,
                body="We are on it",
                created_at=clock.now(),
            ),
        ]
    )
    db.flush()
    clock.freeze(NOW)
    url = f"http://portal.test/requests/{sr.reference}/photos/{shown.id}"

    plain = get_json(client, f"requests/{sr.reference}")[0]
    assert "notes" not in plain and "extended_attributes" not in plain
    assert plain["media_url"] == url  # no media_url of its own: the first public photo

    (row,) = get_json(client, f"requests/{sr.reference}", extensions="true")
    assert [n["type"] for n in row["notes"]] == ["submitted", "status_changed", "comment"]
    assert row["notes"][1] == {
        "datetime": "2026-03-10T08:00:00-05:00",
        "description": "Status changed to In progress.",
        "type": "status_changed",
    }
    assert row["notes"][2]["description"] == "We are on it"
    assert row["extended_attributes"] == {"channel": "web", "photos": [url]}
    assert f"/photos/{hidden.id}" not in json.dumps(row)

    listed = {r["service_request_id"]: r for r in get_json(client, "requests", extensions="TRUE")}
    assert listed[sr.reference] == row
    assert listed[town["new"].reference]["extended_attributes"]["photos"] == []

    root = get_xml(client, "requests", extensions="true")
    request = next(r for r in root if r.findtext("service_request_id") == sr.reference)
    assert [c.tag for c in request] == [*FIELDS, "notes", "extended_attributes"]
    notes = request.findall("notes/note")
    assert [n.findtext("type") for n in notes] == ["submitted", "status_changed", "comment"]
    assert [c.tag for c in notes[0]] == ["datetime", "description", "type"]
    assert request.findtext("extended_attributes/channel") == "web"
    assert [p.text for p in request.findall("extended_attributes/photos/photo")] == [url]


def test_one_request_in_both_formats(client, town):
    sr = town["old"]
    rows = get_json(client, f"requests/{sr.reference}")
    assert len(rows) == 1 and rows[0]["service_request_id"] == sr.reference
    assert rows[0]["status"] == "closed"
    root = get_xml(client, f"requests/{sr.reference}")
    assert root.tag == "service_requests"
    assert [r.tag for r in root] == ["request"]
    assert root.findtext("request/service_request_id") == sr.reference
    assert [c.tag for c in root[0]] == FIELDS


def test_unknown_request_is_404(client, town):
    for reference in ("SR-2026-999999", "nonsense", "9" * 40):
        (description,) = errors_of(client, f"requests/{reference}", 404)
        assert "service request" in description


def test_duplicates_are_closed_and_listed(client, make):
    duplicate = make.request(status="duplicate")
    (row,) = get_json(client, f"requests/{duplicate.reference}")
    assert row["status"] == "closed"
    assert duplicate.reference in ids_of(client, status="closed")


def test_tokens(client, town, db):
    db.execute(
        update(ServiceRequest)
        .where(ServiceRequest.id == town["new"].id)
        .values(api_token="tok-abc123")
    )
    db.execute(
        update(ServiceRequest)
        .where(ServiceRequest.id == town["private"].id)
        .values(api_token="tok-private")
    )
    assert get_json(client, "tokens/tok-abc123") == [
        {"service_request_id": town["new"].reference, "token": "tok-abc123"}
    ]
    root = get_xml(client, "tokens/tok-abc123")
    assert root.tag == "service_requests"
    assert [(c.tag, c.text) for c in root.find("request")] == [
        ("service_request_id", town["new"].reference),
        ("token", "tok-abc123"),
    ]
    # A token holder filed the request: they get its id even when it is private.
    assert (
        get_json(client, "tokens/tok-private")[0]["service_request_id"] == town["private"].reference
    )
    (description,) = errors_of(client, "tokens/unknown", 404)
    assert "token" in description


# -- jurisdiction ------------------------------------------------------------------------------


def test_jurisdiction_is_checked_everywhere_and_may_be_omitted(client, town, settings):
    sr = town["new"]
    paths = ["services", "services/pothole", "requests", f"requests/{sr.reference}"]
    for path in paths:
        get_json(client, path, jurisdiction_id=settings.open311_jurisdiction)
        get_xml(client, path)
        (description,) = errors_of(client, path, 404, jurisdiction_id="elsewhere.example")
        assert "jurisdiction_id" in description


def test_updated_datetime_follows_changes_and_order_stays_by_request_time(client, make, db):
    first = make.request()
    clock.freeze(NOW + timedelta(minutes=5))
    second = make.request()
    first.updated_at = clock.now()
    db.flush()
    rows = get_json(client, "requests")
    assert [r["service_request_id"] for r in rows] == [second.reference, first.reference]
    assert rows[1]["requested_datetime"] == "2026-03-10T10:00:00-05:00"
    assert rows[1]["updated_datetime"] == "2026-03-10T10:05:00-05:00"
