"""Open data: nothing personal in any byte of either file, private requests reduced to their
category, area, status and dates, formula-safe CSV, the date range (local days, both ends
included, at most 366), streaming over many batches, and the documentation page."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from portal.reports import open_data
from portal.reports.open_data import COLUMNS, NAMES, RangeError, bounds, parse_range, rows
from portal.requests.models import Event

CHICAGO = ZoneInfo("America/Chicago")
#: Wednesday 18 March 2026, 10:00 in Chicago.
NOW = datetime(2026, 3, 18, 15, 0, tzinfo=UTC)
MARCH = "start=2026-03-01&end=2026-03-31"

#: Personal data put into private requests (and the contact fields of a public one).
NAME = "Zelda Quartermain"
EMAIL = "zelda.quartermain@example.org"
PHONE = "+1 555 0199 3412"
ACCOUNT_NAME = "Xavier Pemberton-Lloyd"
ACCOUNT_EMAIL = "xavier.pemberton@example.org"
SECRET = "my neighbour's dog bit me"
HIDDEN_ADDRESS = "17 Hidden Lane"
NOTE = "Internal note: caller sounded upset"
TOKEN = "f00dfacef00dfacef00dfacef00dfacef00dfacef00dfacef00dfacef00dface"
API_TOKEN = "apitok-7c1d2e3f4a5b"


@pytest.fixture(autouse=True)
def frozen(freeze_clock):
    freeze_clock(NOW)


def at(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    """A moment in Chicago, in March 2026 unless told."""
    return datetime(2026, month, day, hour, minute, tzinfo=CHICAGO)


def download(client, fmt: str, query: str = MARCH):
    response = client.get(f"/open-data/requests.{fmt}?{query}")
    assert response.status_code == 200, response.get_data(as_text=True)
    return response


def csv_rows(response) -> list[dict[str, str]]:
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:])))


@pytest.fixture
def town(make):
    area = make.area(code="northside", name="Northside")
    potholes = make.category(code="potholes", name="Potholes")
    welfare = make.category(code="welfare", name="Welfare check", private=True)
    return area, potholes, welfare


def _personal(make, town):
    """A private-by-choice request full of personal data, a request in a private category
    from an account, and a public request with contact details."""
    area, potholes, welfare = town
    reporter = make.user(name=ACCOUNT_NAME, email=ACCOUNT_EMAIL)
    private = make.request(
        category=potholes,
        area_id=area.id,
        private_by_reporter=True,
        contact_name=NAME,
        contact_email=EMAIL,
        contact_phone=PHONE,
        description=f"I am {NAME}, call {PHONE} or write to {EMAIL}: {SECRET}",
        address=HIDDEN_ADDRESS,
        lat=41.067891,
        lon=-87.021987,
        tracking_token_hash=TOKEN,
        api_token=API_TOKEN,
        created_at=at(5, 9, 47),
        updated_at=at(6, 14, 12),
        status="resolved",
        resolved_at=at(6, 14, 12),
        channel="phone",
    )
    make.session.add(
        Event(request_id=private.id, kind="note", public=False, actor_kind="staff", body=NOTE)
    )
    in_private_category = make.request(
        category=welfare,
        area_id=area.id,
        reporter_id=reporter.id,
        description=f"Please check on {ACCOUNT_NAME}",
        address="9 Quiet Court",
        created_at=at(7, 8, 30),
        updated_at=at(7, 8, 30),
    )
    public = make.request(
        category=potholes,
        area_id=area.id,
        contact_name=NAME,
        contact_email=EMAIL,
        contact_phone=PHONE,
        description="A deep pothole by the school",
        address="100 Main Street",
        lat=41.0123456,
        lon=-87.0543219,
        channel="mobile",
        support_count=3,
        created_at=at(9, 16, 5),
        updated_at=at(9, 16, 5),
    )
    make.session.flush()
    return private, in_private_category, public


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_no_personal_data_in_any_byte(client, make, town, fmt):
    private, in_private_category, public = _personal(make, town)
    body = download(client, fmt).get_data(as_text=True)
    forbidden = [
        NAME,
        EMAIL,
        PHONE,
        ACCOUNT_NAME,
        ACCOUNT_EMAIL,
        SECRET,
        HIDDEN_ADDRESS,
        "9 Quiet Court",
        "Please check on",
        NOTE,
        TOKEN,
        API_TOKEN,
        "Zelda",
        "Quartermain",
        "zelda",
        "0199",
        "Pemberton",
        "41.067",
        "41.068",
        "87.021",
        "87.022",
        private.reference,
        in_private_category.reference,
        "phone",
    ]
    for text in forbidden:
        assert text not in body, text
    # ... while the public request's own public fields are there.
    for text in (public.reference, "A deep pothole by the school", "100 Main Street"):
        assert text in body


def test_private_rows_hold_only_category_area_status_and_dates(client, make, town):
    private, in_private_category, public = _personal(make, town)
    found = {row["id"]: row for row in json.loads(download(client, "json").data)}
    assert len(found) == 3
    for row in found.values():
        assert list(row) == list(NAMES)
    assert found[private.id] == {
        "id": private.id,
        "reference": None,
        "visibility": "private",
        "category_code": "potholes",
        "category": "Potholes",
        "department_code": private.category.department.code,
        "department": private.category.department.name,
        "area_code": "northside",
        "area": "Northside",
        "status": "resolved",
        "is_open": False,
        # 09:47 and 14:12 in Chicago (CST, UTC-6) rounded down to the hour, in UTC.
        "requested_at": "2026-03-05T15:00:00Z",
        "updated_at": "2026-03-06T20:00:00Z",
        "resolved_at": "2026-03-06T20:00:00Z",
        "channel": None,
        "description": None,
        "address": None,
        "latitude": None,
        "longitude": None,
        "supporters": None,
        "target_at": None,
        "closed_at": "2026-03-06T20:00:00Z",
        "on_time": None,
    }
    assert found[in_private_category.id]["visibility"] == "private"
    assert found[in_private_category.id]["description"] is None
    assert found[in_private_category.id]["category_code"] == "welfare"
    # 16:05 CDT (UTC-5, daylight saving time from 8 March), to the second.
    assert found[public.id] == {
        "id": public.id,
        "reference": public.reference,
        "visibility": "public",
        "category_code": "potholes",
        "category": "Potholes",
        "department_code": public.category.department.code,
        "department": public.category.department.name,
        "area_code": "northside",
        "area": "Northside",
        "status": "new",
        "is_open": True,
        "requested_at": "2026-03-09T21:05:00Z",
        "updated_at": "2026-03-09T21:05:00Z",
        "resolved_at": None,
        "channel": "mobile",
        "description": "A deep pothole by the school",
        "address": "100 Main Street",
        "latitude": 41.0123,
        "longitude": -87.0543,
        "supporters": 3,
        "target_at": None,
        "closed_at": None,
        "on_time": None,
    }


def test_target_closed_and_on_time_columns_come_from_the_case_clock(client, make, town):
    area, potholes, _welfare = town
    filed = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
    due = datetime(2026, 3, 4, 15, 0, tzinfo=UTC)

    def case(status: str, stage: str, **clock) -> int:
        made = make.request(
            category=potholes,
            area_id=area.id,
            status=status,
            created_at=filed,
            resolved_at=datetime(2026, 3, 3, 18, 30, tzinfo=UTC) if status == "resolved" else None,
        )
        make.sla_clock(made, stage=stage, started_at=filed, **({"due_at": due} | clock))
        return made.id

    met = case("resolved", "met", stopped_at=datetime(2026, 3, 3, 18, 30, tzinfo=UTC))
    late = case("in_progress", "running", breached_at=due)
    ahead = case("in_progress", "running", due_at=None, original_due_at=NOW.replace(day=20))
    no_target = make.request(category=potholes, area_id=area.id, created_at=filed).id
    found = {row["id"]: row for row in json.loads(download(client, "json").data)}
    assert (found[met]["target_at"], found[met]["closed_at"], found[met]["on_time"]) == (
        "2026-03-04T15:00:00Z",
        "2026-03-03T18:30:00Z",
        True,
    )
    assert (found[late]["closed_at"], found[late]["on_time"]) == (None, False)
    # Paused (no moving deadline): the deadline first set; still ahead, so no verdict.
    assert found[ahead]["target_at"] == "2026-03-20T15:00:00Z"
    assert found[ahead]["on_time"] is None
    assert (found[no_target]["target_at"], found[no_target]["on_time"]) == (None, None)


def test_csv_has_the_documented_header_and_the_same_rows(client, make, town):
    private, _in_private_category, public = _personal(make, town)
    response = download(client, "csv")
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="requests-2026-03-01-to-2026-03-31.csv"'
    )
    assert response.headers["Cache-Control"] in ("public, max-age=300", "max-age=300, public")
    text = response.get_data(as_text=True)
    assert text[1:].splitlines()[0] == ",".join(NAMES)
    by_id = {int(row["id"]): row for row in csv_rows(response)}
    assert by_id[private.id]["description"] == "" and by_id[private.id]["latitude"] == ""
    assert by_id[private.id]["is_open"] == "false"
    assert by_id[public.id]["latitude"] == "41.0123"
    assert by_id[public.id]["is_open"] == "true"
    assert by_id[public.id]["supporters"] == "3"


def test_json_is_one_parsable_array_with_download_headers(client, make, town):
    _personal(make, town)
    response = download(client, "json")
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="requests-2026-03-01-to-2026-03-31.json"'
    )
    assert response.cache_control.public and response.cache_control.max_age == 300
    assert isinstance(json.loads(response.data), list)
    empty = download(client, "json", "start=2025-01-01&end=2025-01-31")
    assert json.loads(empty.data) == []


def test_csv_cells_never_start_a_formula(client, make, town):
    area, potholes, _welfare = town
    for text in ('=HYPERLINK("http://evil.example")', "+1+2", "-2+3", "@SUM(A1)"):
        make.request(
            category=potholes,
            area_id=area.id,
            description=text,
            address=text,
            created_at=at(10, 12),
        )
    rows_ = csv_rows(download(client, "csv"))
    assert len(rows_) == 4
    for row in rows_:
        assert row["description"].startswith("'")
        assert row["address"].startswith("'")
        assert row["description"][1:] in (
            '=HYPERLINK("http://evil.example")',
            "+1+2",
            "-2+3",
            "@SUM(A1)",
        )
    # JSON is not opened by spreadsheets: the text is as the resident wrote it.
    assert {row["description"] for row in json.loads(download(client, "json").data)} == {
        '=HYPERLINK("http://evil.example")',
        "+1+2",
        "-2+3",
        "@SUM(A1)",
    }


def test_dates_are_local_days_with_both_ends_included(client, make, town):
    area, potholes, _welfare = town
    made = {
        "before": make.request(category=potholes, created_at=at(28, 23, 59, month=2)),
        "first": make.request(category=potholes, created_at=at(1, 0, 0)),
        "last": make.request(category=potholes, created_at=at(3, 23, 59)),
        "after": make.request(category=potholes, created_at=at(4, 0, 0)),
    }
    ids = [
        row["id"]
        for row in json.loads(download(client, "json", "start=2026-03-01&end=2026-03-03").data)
    ]
    assert ids == [made["first"].id, made["last"].id]
    assert [
        int(row["id"])
        for row in csv_rows(download(client, "csv", "start=2026-03-01&end=2026-03-03"))
    ] == ids
    assert [
        row["id"]
        for row in json.loads(download(client, "json", "start=2026-02-28&end=2026-02-28").data)
    ] == [made["before"].id]


def test_default_range_is_the_last_thirty_days(client, make, town):
    _area, potholes, _welfare = town
    # Today is 18 March in Chicago: the default is 17 February to 18 March.
    old = make.request(category=potholes, created_at=at(16, 23, 0, month=2))
    first = make.request(category=potholes, created_at=at(17, 0, 30, month=2))
    today = make.request(category=potholes, created_at=at(18, 9, 0))
    response = client.get("/open-data/requests.json")
    assert response.status_code == 200
    ids = [row["id"] for row in json.loads(response.data)]
    assert ids == [first.id, today.id] and old.id not in ids
    assert "requests-2026-02-17-to-2026-03-18.json" in response.headers["Content-Disposition"]


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("start=2025-01-01&end=2026-01-02", "end", "at most 366 days"),
        ("start=2026-03-10&end=2026-03-09", "end", "on or after the start"),
        ("start=2026-02-30&end=2026-03-09", "start", "a real date"),
        ("start=yesterday", "start", "a real date"),
        ("end=%3DSUM(A1)", "end", "a real date"),
        ("start=1999-12-31&end=2000-01-01", "start", "between 2000 and 2099"),
    ],
)
def test_bad_ranges_are_a_400_with_a_message(client, query, field, message):
    answer = client.get(f"/open-data/requests.json?{query}")
    assert answer.status_code == 400
    error = json.loads(answer.data)["error"]
    assert error["field"] == field and message in error["message"]
    page = client.get(f"/open-data/requests.csv?{query}")
    assert page.status_code == 400
    assert message in page.get_data(as_text=True)
    assert "attachment" not in page.headers.get("Content-Disposition", "")


def test_a_range_of_exactly_366_days_is_allowed(client):
    assert (
        client.get("/open-data/requests.csv?start=2024-01-01&end=2024-12-31").status_code == 200
    )  # a leap year: 366 days


def test_parse_range():
    today = date(2026, 3, 18)
    assert parse_range(None, None, today=today) == (date(2026, 2, 17), today)
    assert parse_range("", "  ", today=today) == (date(2026, 2, 17), today)
    assert parse_range("2026-01-01", None, today=today) == (date(2026, 1, 1), date(2026, 1, 30))
    assert parse_range("2026-03-10", None, today=today) == (date(2026, 3, 10), today)
    assert parse_range(None, "2026-01-30", today=today) == (date(2026, 1, 1), date(2026, 1, 30))
    assert parse_range("2025-03-18", "2026-03-18", today=today) == (date(2025, 3, 18), today)
    with pytest.raises(RangeError) as raised:
        parse_range("2025-03-17", "2026-03-18", today=today)
    assert raised.value.field == "end"


def test_bounds_are_local_midnights_in_utc():
    start, end = bounds(date(2026, 3, 8), date(2026, 3, 8), tz=CHICAGO)
    # The day daylight saving time starts has 23 hours.
    assert start == datetime(2026, 3, 8, 6, tzinfo=UTC)
    assert end == datetime(2026, 3, 9, 5, tzinfo=UTC)


def _many(make, town, count: int) -> list[int]:
    """``count`` requests, several filed in the same second (ties broken by id)."""
    area, potholes, _welfare = town
    ids = []
    for n in range(count):
        ids.append(
            make.request(category=potholes, area_id=area.id, created_at=at(2 + n // 3, 10)).id
        )
    return ids


def test_streaming_over_several_batches(app, client, make, town):
    ids = _many(make, town, 10)
    app.config["OPEN_DATA_BATCH"] = 3
    assert [row["id"] for row in json.loads(download(client, "json").data)] == ids
    assert [int(row["id"]) for row in csv_rows(download(client, "csv"))] == ids


def test_rows_in_keyset_batches(db, make, town):
    ids = _many(make, town, 7)
    start, end = bounds(date(2026, 3, 1), date(2026, 3, 31), tz=CHICAGO)
    seen: list[int] = []
    after = None
    while True:
        batch = rows(db, start, end, after_id=after, limit=2)
        if not batch:
            break
        assert len(batch) <= 2
        seen += [row["id"] for row in batch]
        after = batch[-1]["id"]
    assert seen == ids
    assert [row["id"] for row in open_data.iter_rows(db, start, end, batch=4)] == ids
    assert [row["id"] for row in open_data.iter_rows(db, start, end, batch=7)] == ids
    assert rows(db, start, end, after_id=2**62, limit=3)[0]["id"] == ids[0]


def test_documentation_lists_every_column(client):
    page = client.get("/open-data")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for column in COLUMNS:
        assert f"<code>{column.name}</code>" in html
        assert column.type in html
    assert 'href="/open-data/requests.csv"' in html
    assert 'href="/open-data/requests.json"' in html
    assert 'value="2026-02-17"' in html and 'value="2026-03-18"' in html
    assert len(COLUMNS) == len(set(NAMES)) == 23


def test_download_form_sends_good_dates_to_the_file(client):
    answer = client.get("/open-data?start=2026-03-01&end=2026-03-31&format=json")
    assert answer.status_code == 303
    assert answer.headers["Location"].endswith(
        "/open-data/requests.json?start=2026-03-01&end=2026-03-31"
    )
    answer = client.get("/open-data?start=&end=2026-03-31&format=nonsense")
    assert answer.status_code == 303
    assert answer.headers["Location"].endswith(
        "/open-data/requests.csv?start=2026-03-02&end=2026-03-31"
    )


def test_download_form_shows_a_bad_date_next_to_its_field(client):
    answer = client.get("/open-data?start=2026-02-31&end=2026-03-31&format=csv")
    assert answer.status_code == 400
    html = answer.get_data(as_text=True)
    assert 'id="error-summary"' in html
    assert 'class="usa-error-message" id="start-error-1"' in html
    assert 'aria-describedby="start-hint start-error-1"' in html
    assert 'value="2026-02-31"' in html
    answer = client.get("/open-data?start=2025-01-01&end=2026-03-31&format=csv")
    assert answer.status_code == 400
    assert "366 days" in answer.get_data(as_text=True)


def test_no_timeline_text(client, make, town, db):
    """A timeline entry's text never comes out, even a public request's public comment."""
    _area, potholes, _welfare = town
    sr = make.request(category=potholes, created_at=at(11, 11))
    db.add(
        Event(
            request_id=sr.id,
            kind="comment",
            public=True,
            actor_kind="staff",
            body="Crew 7 (Dave Smith) will come Tuesday",
        )
    )
    db.flush()
    for fmt in ("csv", "json"):
        assert "Dave Smith" not in download(client, fmt).get_data(as_text=True)
