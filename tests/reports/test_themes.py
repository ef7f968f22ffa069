"""Themes heard (issue 22): the worker groups each area's descriptions and survey comments of
the last full week and month; the hotspots page shows them and the weekly digest names them
in each recipient's language."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from portal.assist.models import AssistTheme
from portal.catalogue.models import Department
from portal.core import clock
from portal.core.audit import AuditEntry
from portal.core.outbox import OutboxMessage
from portal.core.senders import SmtpSender
from portal.core.worker import PERIODIC_JOBS, deliver_outbox
from portal.reports.digest import send_hotspot_digest
from portal.reports.themes import compute_themes
from tests.conftest import sign_in
from tests.smtp import body_html, body_text

ZONE = ZoneInfo("America/Chicago")
#: Monday 16 March 2026, 07:30 UTC: the last full week is 9-15 March, the last month February.
MONDAY = datetime(2026, 3, 16, 7, 30, tzinfo=UTC)
WEEK_URL = "/staff/reports/hotspots?period=week&start=2026-03-09"

MUSIC = [
    "loud music from the bar every night",
    "the bar plays loud music until 3am",
    "music way too loud at the bar",
    "loud music and shouting from the bar",
    "bar music so loud we cannot sleep",
    "very loud music coming from the bar again",
    "My name is Ana Lopez, call 555-123-4567: the bar at 42 Elm St plays loud music",
    "the loud music at the bar woke my baby",
    "bar on the corner blasting loud music",
    "loud music from that bar all weekend",
    "cannot sleep, loud bar music",
    "loud music bar noise after midnight",
]
COMMENTS = [
    "the loud music from the bar is still going on",
    "nothing changed, the bar music is loud every night",
    "bar still plays loud music",
    "loud music at the bar continues",
]
POTHOLES = [
    "deep pothole in the road",
    "pothole damaged my tyre",
    "big pothole near the school",
    "pothole keeps getting bigger",
    "the pothole on the corner is dangerous",
    "car hit a pothole and lost a hubcap",
    "pothole full of water",
    "huge pothole by the bus stop",
    "pothole in the left lane",
]
SOUTH = [
    *(f"graffiti on the {w} wall" for w in ("school", "park", "shop", "church")),
    *(f"someone sprayed graffiti on the {w}" for w in ("bridge", "bench", "shelter", "fence")),
    *(f"street light {w}" for w in ("out", "flickering", "broken", "dark all night")),
    *(f"the street light by the {w} is out" for w in ("park", "school", "bank", "store")),
]


def local(day: date, hour: int = 12) -> datetime:
    return datetime.combine(day, time(hour), ZONE).astimezone(UTC)


@pytest.fixture
def town(make, db):
    department = make.department(name="Streets")
    north, south = make.area(name="Northside"), make.area(name="Southside")
    noise = make.category(name="Noise", department=department)
    potholes = make.category(name="Potholes", department=department)
    other = make.category(name="Graffiti and lights", department=department)
    day = date(2026, 3, 10)
    for i, text in enumerate(MUSIC):
        make.request(
            category=noise,
            area_id=north.id,
            description=text,
            contact_name="Ana Lopez",
            created_at=local(day, 8 + i % 10),
        )
    for text in COMMENTS:
        case = make.request(category=noise, area_id=north.id, created_at=local(date(2026, 2, 20)))
        make.survey_response(
            request_id=case.id, department_id=department.id, comment=text, created_at=local(day)
        )
    for text in POTHOLES:
        make.request(category=potholes, area_id=north.id, description=text, created_at=local(day))
    for text in SOUTH:
        make.request(category=other, area_id=south.id, description=text, created_at=local(day))
    # The week before: two about the music.
    for text in MUSIC[:2]:
        make.request(
            category=noise, area_id=north.id, description=text, created_at=local(date(2026, 3, 3))
        )
    db.commit()
    return north, south


def test_the_worker_groups_last_weeks_texts_once(app, db, settings, town):
    assert compute_themes in PERIODIC_JOBS
    database = app.extensions["portal.db"]
    done = compute_themes(database, settings, MONDAY)
    assert done is not None and "week:2026-03-09" in done
    north, south = town
    rows = db.scalars(
        select(AssistTheme).where(
            AssistTheme.period_kind == "week", AssistTheme.area_id == north.id
        )
    ).all()
    music = next(r for r in rows if "music" in r.label)
    assert "music" in music.terms and "bar" in " ".join(music.terms)
    assert music.size >= 12  # the descriptions and the survey comments
    assert music.previous == 2
    assert any("pothole" in r.label for r in rows)
    assert 1 <= len(music.examples) <= 3
    shown = " ".join(example for row in rows for example in row.examples)
    for private in ("Ana", "Lopez", "555", "4567", "42 Elm"):
        assert private not in shown
    # Done: later rounds do nothing (one marker per period).
    assert compute_themes(database, settings, MONDAY + timedelta(hours=3)) is None
    markers = db.scalars(select(AuditEntry.entity_id).where(AuditEntry.entity == "assist_themes"))
    assert sorted(markers) == ["month:2026-02-01", "week:2026-03-09"]


def test_the_hotspots_page_shows_an_areas_themes(app, client, db, make, settings, town):
    compute_themes(app.extensions["portal.db"], settings, MONDAY)
    register = client.get("/about/algorithms").get_data(as_text=True)
    themes_entry = register.split('data-algorithm="themes"', 1)[1].split("</section>", 1)[0]
    assert "Grouped again each week and each month" in themes_entry
    assert 'datetime="2026-03-16T07:30:00+00:00"' in themes_entry
    sign_in(client, make.user(role="admin"))
    html = client.get(WEEK_URL).get_data(as_text=True)
    part = html.split('id="themes"', 1)[1]
    north, _south = town
    area = part.split(f'data-themes-area="{north.id}"', 1)[1].split("</ul>\n", 1)[0]
    found = re.search(r"Northside: (\d+) comments about “([^”]*music[^”]*)”, up from 2", part)
    assert found and int(found.group(1)) >= 12, part[:2000]
    assert "Words it is made of:" in area and "Examples (" in area
    for private in ("Lopez", "555-123", "42 Elm"):
        assert private not in part
    spanish = client.get(WEEK_URL + "&lang=es").get_data(as_text=True)
    assert re.search(r"Northside: \d+ comentarios sobre “[^”]*music[^”]*”, frente a 2", spanish)
    # A quarter has no themes; a month not grouped yet says so.
    quarter = client.get("/staff/reports/hotspots?period=quarter&start=2026-01-01&lang=en")
    assert 'id="themes"' not in quarter.get_data(as_text=True)
    month = client.get("/staff/reports/hotspots?period=month&start=2026-03-01").get_data(
        as_text=True
    )
    assert "No themes for this period yet" in month


def test_the_digest_names_the_weeks_themes_in_each_language(app, db, make, settings, town, smtp):
    department = make.department(name="Parks")
    make.staff(department, role="supervisor", email="sup@example.org")
    make.user(role="admin", email="admin@example.org", locale="es")
    db.commit()
    database = app.extensions["portal.db"]
    compute_themes(database, settings, MONDAY)
    assert send_hotspot_digest(database, settings, MONDAY) == (
        "queued 2 hotspot digest(s) for the week of 2026-03-09"
    )
    admin, supervisor = db.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.kind == "hotspot_digest")
        .order_by(OutboxMessage.to_address)
    ).all()
    # The town's week also has spike flags: they come first, the themes after them.
    assert supervisor.subject.endswith("flagged in the week Mar 9, 2026 – Mar 15, 2026")
    assert supervisor.body_text.index("well more requests") < supervisor.body_text.index(
        "Themes heard in what residents wrote"
    )
    assert re.search(
        r"Northside: \d+ comments about “[^”]*music[^”]*”, up from 2", supervisor.body_text
    )
    assert re.search(r"Northside: \d+ comentarios sobre “[^”]*music", admin.body_text)
    assert "Lopez" not in supervisor.body_text
    deliver_outbox(database, SmtpSender(settings), now=clock.now(), max_attempts=3)
    received = sorted(smtp.wait_for(2), key=lambda item: item[0])
    assert [to for to, _message in received] == [["admin@example.org"], ["sup@example.org"]]
    for wanted, (_to, message) in zip(
        ("comentarios sobre", "comments about"), received, strict=True
    ):
        assert re.search(rf"Northside: \d+ {wanted} “[^”]*music", body_text(message))
        assert re.search(rf"Northside: \d+ {wanted} “[^”]*music", body_html(message))


def test_switched_off_nothing_is_grouped_or_shown(app, client, db, make, settings, town):
    off = replace(settings, assist_themes=False)
    assert compute_themes(app.extensions["portal.db"], off, MONDAY) is None
    assert db.scalar(select(AssistTheme.id).limit(1)) is None
    app.extensions["portal.settings"] = off
    app.extensions["portal.city"].clear(off)
    sign_in(client, make.user(role="admin"))
    page = client.get(WEEK_URL)
    assert page.status_code == 200 and 'id="themes"' not in page.get_data(as_text=True)


def test_grouping_that_fails_is_logged_and_tried_again(
    app, db, settings, town, monkeypatch, caplog
):
    from portal.assist import themes

    def broken(*args, **kwargs):
        raise RuntimeError("the model could not be fitted")

    monkeypatch.setattr(themes, "find_themes", broken)
    database = app.extensions["portal.db"]
    # The week fails (logged, not marked done); February had no texts to group.
    assert (
        compute_themes(database, settings, MONDAY) == "0 theme(s) in 0 area(s) for month:2026-02-01"
    )
    assert "themes for the week of 2026-03-09 could not be computed" in caplog.text
    markers = db.scalars(select(AuditEntry.entity_id).where(AuditEntry.entity == "assist_themes"))
    assert list(markers) == ["month:2026-02-01"]
    monkeypatch.undo()
    assert "week:2026-03-09" in (compute_themes(database, settings, MONDAY) or "")


def test_the_team_email_names_the_weeks_themes(app, db, make, settings, town):
    from portal.reports.team_digest import send_team_digests

    streets = db.scalar(select(Department).where(Department.name == "Streets"))
    make.staff(streets, role="agent", email="agent@example.org")
    db.commit()
    database = app.extensions["portal.db"]
    compute_themes(database, settings, MONDAY)
    assert send_team_digests(database, settings, MONDAY) is not None
    (email,) = db.scalars(select(OutboxMessage).where(OutboxMessage.kind == "team_digest"))
    assert "What residents raised across the city this week:" in email.body_text
    assert re.search(r"Northside: \d+ comments about “[^”]*music[^”]*”, up from 2", email.body_text)
