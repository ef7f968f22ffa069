"""The weekly team email (issue 23): each department's week, to each member who wants it, in
their language, over real SMTP; the figures are the board's."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from email.header import decode_header, make_header

import pytest
from sqlalchemy import select

from portal.core import clock
from portal.core.audit import AuditEntry
from portal.core.outbox import OutboxMessage
from portal.core.senders import SmtpSender
from portal.core.worker import PERIODIC_JOBS, deliver_outbox
from portal.reports.team_digest import mask, send_team_digests
from tests.conftest import sign_in
from tests.reports.test_pages import local, resolved_clock

OLD: list[str] = []
#: Monday 16 March 2026, 07:30 UTC: the week of 9 March is due.
MONDAY = datetime(2026, 3, 16, 7, 30, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen(freeze_clock):
    freeze_clock(MONDAY)


@pytest.fixture
def roads(make):
    """Roads: 3 of 4 tasks on time in the week of 9 March (1 of 2 the week before), two old
    open tasks, three satisfaction answers with comments."""
    roads = make.department(name="Roads")
    potholes = make.category(department=roads, name="Potholes")
    for stage in ("met", "met", "met", "breached"):
        resolved_clock(make, potholes, stage=stage, hours=2, day=date(2026, 3, 11))
    for stage in ("met", "breached"):
        resolved_clock(make, potholes, stage=stage, hours=2, day=date(2026, 3, 4))
    for day, title in ((2, "Sinkhole on Elm"), (5, "Crack by the school")):
        case = make.request(category=potholes)
        make.task(case, title=title, created_at=local(date(2026, 3, day)))
        OLD.append(case.reference)
    for day, csat, comment in (
        (9, 4, ""),
        (9, 4, ""),
        (10, 5, "Quick work, thank you"),
        (11, 4, "Fine, call me on 555-123-4567 or mail ana@example.org"),
        (12, 3, ""),
    ):
        make.survey_response(
            department_id=roads.id,
            category_id=potholes.id,
            csat=csat,
            comment=comment,
            created_at=local(date(2026, 3, day)),
        )
    yield roads
    OLD.clear()


def _outbox(db) -> list[OutboxMessage]:
    return list(
        db.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.kind == "team_digest")
            .order_by(OutboxMessage.to_address)
        )
    )


def test_each_member_who_wants_it_gets_the_weeks_results_over_smtp(
    app, db, make, roads, settings, smtp
):
    assert send_team_digests in PERIODIC_JOBS
    make.staff(roads, role="agent", email="agent@example.org", name="Ana")
    make.staff(roads, role="supervisor", email="jefa@example.org", locale="es")
    make.staff(roads, role="agent", email="quiet@example.org", team_digest=False)
    make.staff(roads, role="agent", email="gone@example.org", active=False)
    idle = make.department(name="Idle")  # no member: no email
    assert idle.id
    db.commit()
    database = app.extensions["portal.db"]
    assert send_team_digests(database, settings, MONDAY - timedelta(hours=1)) is None
    assert send_team_digests(database, settings, MONDAY) == (
        "queued 2 team email(s) for the week of 2026-03-09"
    )
    assert send_team_digests(database, settings, MONDAY + timedelta(hours=3)) is None
    agent, boss = _outbox(db)
    assert (agent.to_address, agent.locale, boss.locale) == ("agent@example.org", "en", "es")
    text = " ".join(agent.body_text.split())
    assert agent.subject == "Roads: your team's results, Mar 9, 2026 – Mar 15, 2026"
    assert "On time: 75% of 4 tasks resolved. Up 25 points from the week before." in text
    assert "Backlog: 2 tasks open at the end of the week." in text
    assert f"{OLD[0]}, Sinkhole on Elm: open since 2 Mar" in text
    assert f"- {OLD[1]}, Crack by the school: open since 5 Mar" in agent.body_text
    assert "Satisfaction: 4.0 out of 5, from 5 answers." in text
    assert "“Fine, call me on [phone] or mail [email]”" in text
    assert "“Quick work, thank you”" in text
    assert "ana@example.org" not in agent.body_html and "555-123" not in agent.body_html
    assert f"/staff/reports/departments/{roads.id}?period=week&start=2026-03-09" in text
    assert "A tiempo: 75" in " ".join(boss.body_text.split())
    marker = db.scalar(select(AuditEntry).where(AuditEntry.entity == "team_digest"))
    assert (marker.entity_id, marker.after) == ("2026-03-09", {"teams": 1, "emails": 2})

    deliver_outbox(database, SmtpSender(settings), now=clock.now(), max_attempts=3)
    received = sorted(smtp.wait_for(2), key=lambda item: item[0])
    assert [to for to, _message in received] == [["agent@example.org"], ["jefa@example.org"]]
    subject = str(make_header(decode_header(received[0][1]["Subject"])))
    assert " ".join(subject.split()) == agent.subject


def test_a_member_turns_the_weekly_email_off_in_their_email_settings(client, db, make, roads):
    agent = make.staff(roads, role="agent", email="agent@example.org")
    sign_in(client, agent)
    page = client.get("/staff/notices/settings").get_data(as_text=True)
    assert "results every Monday" in page
    assert 'name="team_digest" value="y" checked' in page
    token = page.split('name="csrf_token" type="hidden" value="', 1)[1].split('"', 1)[0]
    response = client.post(
        "/staff/notices/settings", data={"csrf_token": token, "notice_email": "each"}
    )
    assert response.status_code == 302
    db.refresh(agent)
    assert agent.team_digest is False


def test_comments_are_masked():
    assert mask("mail me at a.b+c@city.example.gov or +1 (555) 010-2030 ") == (
        "mail me at [email] or [phone]"
    )
