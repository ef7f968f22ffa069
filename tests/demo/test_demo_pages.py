"""The demo as staff and residents read it: late tasks carry the escalation level the SLA rules
would have given them, and no page shows a time with seconds or a date in another language's
format (English and Spanish)."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from portal.casework.models import Task
from portal.core import clock
from portal.demo.loader import DEMO_PASSWORD
from portal.programmes.models import Programme
from portal.requests.models import Event, ServiceRequest
from portal.sla.models import LIVE_STAGES, BusinessCalendar, SlaClock
from tests.conftest import csrf_from

DEMO_NOW = datetime(2026, 11, 18, 15, 30, tzinfo=UTC)
SECONDS = re.compile(r"\b\d{1,2}:\d{2}:\d{2}\b")
#: A day written for machines (fine in a form hint showing how to type one, not as a shown date).
ISO_DAY = re.compile(r"\b20\d\d-\d\d-\d\d\b")
#: The one format of each language ("Nov 18, 2026, 9:30 AM"; "18 nov 2026, 9:30") ...
MOMENT = {
    "en": re.compile(
        r"\b(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{1,2}, \d{4}, "
        r"\d{1,2}:\d\d (AM|PM)"
    ),
    "es": re.compile(
        r"\b\d{1,2} (ene|feb|mar|abr|may|jun|jul|ago|sept|oct|nov|dic) \d{4}, "
        r"\d{1,2}:\d\d\b"
    ),
}
#: ... and what the other language's would look like there.
FOREIGN = {
    "en": re.compile(r"\b\d{1,2} (ene|feb|abr|ago|sept|dic) \d{4}\b"),
    "es": re.compile(
        r"\b(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{1,2}, \d{4}\b|"
        r"\d:\d\d\s?(AM|PM)\b"
    ),
}


def visible(page: str) -> str:
    """What a reader sees: no scripts or styles, no tags (so no ``datetime`` attributes), any
    run of spaces (the narrow one before "PM" too) as one space."""
    page = re.sub(r"<(script|style|template)\b.*?</\1>", " ", page, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def sign_in(client, email: str) -> None:
    token = csrf_from(client.get("/account/sign-in").get_data(as_text=True))
    response = client.post(
        "/account/sign-in", data={"csrf_token": token, "email": email, "password": DEMO_PASSWORD}
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:300]


@pytest.fixture
def demo(runner, db):
    clock.freeze(DEMO_NOW)
    try:
        result = runner.invoke(args=["demo", "load", "--requests", "150"])
        assert result.exit_code == 0, result.output
        clock.freeze(DEMO_NOW)  # the load lets time run again when it is done
        yield db
    finally:
        clock.freeze(None)


def _late_open_tasks(db) -> list[tuple[Task, SlaClock]]:
    return [
        (task, clock_row)
        for task, clock_row in db.execute(
            select(Task, SlaClock)
            .join(SlaClock, SlaClock.task_id == Task.id)
            .where(
                Task.is_open.is_(True),
                SlaClock.stage.in_(LIVE_STAGES),
                SlaClock.thresholds_fired >= 100,
            )
            .order_by(SlaClock.due_at)
        )
    ]


def test_late_demo_tasks_carry_the_escalation_level_the_rules_give(app, demo):
    db = demo
    late = _late_open_tasks(db)
    assert late, "the demo has no late open task"
    # Every task whose clock breached was escalated once, by the department's rules, and the
    # breach is on its case's timeline (at the moment it happened, before anything after it).
    for task, clock_row in late:
        assert task.escalation_level == 1, task.id
        actions = task.department.breach_actions or []
        assert (task.queue == "escalation") == ("escalation_queue" in actions), task.id
        breach = [
            e
            for e in db.scalars(
                select(Event).where(Event.request_id == task.request_id, Event.kind == "sla")
            )
            if e.data.get("action") == "breached" and e.data.get("task_id") == task.id
        ]
        assert [e.created_at for e in breach] == [clock_row.due_at], task.id
        assert breach[0].data["level"] == 1 and not breach[0].public
    on_time = db.scalars(
        select(Task)
        .join(SlaClock, SlaClock.task_id == Task.id)
        .where(SlaClock.thresholds_fired < 100)
    ).all()
    assert on_time and all(t.escalation_level == 0 for t in on_time)

    client = app.test_client()
    sign_in(client, "admin@riverton.example")
    task, _clock = late[0]
    escalations = client.get("/staff/escalations/?lang=en").get_data(as_text=True)
    row = re.search(rf'<tr id="escalation-{task.id}">(.*?)</tr>', escalations, flags=re.S)
    assert row and re.search(r'data-label="Escalation level">1<', row.group(1))
    case = db.get(ServiceRequest, task.request_id)
    page = visible(client.get(f"/staff/cases/{case.reference}?lang=en").get_data(as_text=True))
    assert "Escalation level 1" in page
    assert "is past its due time (escalation level 1)" in page


def _pages(db) -> dict[str, list[str]]:
    late = _late_open_tasks(db)[0][0]
    resolved = db.scalar(
        select(ServiceRequest)
        .where(ServiceRequest.status == "resolved", ServiceRequest.is_public.is_(True))
        .limit(1)
    )
    programme = db.scalar(select(Programme).order_by(Programme.id).limit(1))
    calendar = db.scalar(select(BusinessCalendar).order_by(BusinessCalendar.id).limit(1))
    case = db.get(ServiceRequest, late.request_id)
    return {
        "admin@riverton.example": [
            f"/staff/cases/{case.reference}",
            f"/staff/cases/{resolved.reference}",
            "/staff/queue/everything",
            "/staff/escalations/",
            "/staff/audit/",
            "/staff/notices",
            "/staff/reports",
            "/staff/programmes",
            f"/staff/programmes/{programme.id}",
            f"/staff/admin/sla/calendars/{calendar.id}/edit",
            "/staff/surveys/results",
        ],
        "maria.gonzalez@example.net": [
            f"/requests/{case.reference}",
            f"/requests/{resolved.reference}",
            "/my/requests",
            "/programmes",
            "/performance",
        ],
    }


@pytest.mark.parametrize("locale", ["en", "es"])
def test_no_demo_page_shows_seconds_or_another_language_s_dates(app, demo, locale):
    seen_moments = 0
    for email, paths in _pages(demo).items():
        client = app.test_client()
        sign_in(client, email)
        for path in paths:
            response = client.get(f"{path}?lang={locale}")
            assert response.status_code == 200, path
            text = visible(response.get_data(as_text=True))
            assert not SECONDS.search(text), (path, SECONDS.search(text))
            assert not FOREIGN[locale].search(text), (path, FOREIGN[locale].search(text))
            iso = [
                m.group()
                for m in ISO_DAY.finditer(text)
                if not re.search(r"(like|ejemplo),? $", text[max(m.start() - 20, 0) : m.start()])
            ]
            assert not iso, (path, iso)
            seen_moments += len(MOMENT[locale].findall(text))
    assert seen_moments >= 20  # the pages did show dates and times, in this language's format
