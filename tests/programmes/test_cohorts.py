"""Running the next cohort of a programme (a copy with its sessions moved to new dates, across a
daylight-saving change) and a programme's cohorts side by side, through HTTP."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from portal.core.audit import AuditEntry
from portal.programmes.models import Attendance, Enrolment, Programme, ProgrammeSession
from tests.conftest import csrf_from, sign_in

BASE = "/staff/programmes"
CHICAGO = ZoneInfo("America/Chicago")
#: Monday 2 March 2026, 09:00 in Chicago; daylight saving time starts on Sunday 8 March.
NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen(freeze_clock):
    freeze_clock(NOW)


@pytest.fixture
def coordinator(make, client):
    user = make.user(role="coordinator", name="Cora Coordinator")
    sign_in(client, user)
    return user


def local(day: str, at: str) -> datetime:
    return datetime.fromisoformat(f"{day}T{at}").replace(tzinfo=CHICAGO).astimezone(UTC)


@pytest.fixture
def academy(db, make):
    """The winter cohort: Tuesdays 18:00-20:00 in standard time (UTC-6) from 3 Feb, and one
    Saturday morning workshop; two questions; 2 enrolled, 1 waiting, an open window."""
    programme = make.programme(
        title="Citizens Engagement Academy",
        translations={"es": {"title": "Academia de Participación Ciudadana"}},
        kind="academy",
        capacity=25,
        completion_min_sessions=2,
        enrol_opens_at=local("2026-01-05", "09:00"),
        enrol_closes_at=local("2026-01-30", "17:00"),
        questions=[
            {"code": "lives_here", "kind": "yesno", "required": True, "eligible_values": ["yes"]},
            {"code": "adult", "kind": "yesno", "required": True, "eligible_values": ["yes"]},
        ],
    )
    for day, start, end, title, mandatory in (
        ("2026-02-03", "18:00", "20:00", "Welcome", True),
        ("2026-02-10", "18:00", "20:00", "Your council", False),
        ("2026-02-14", "10:00", "13:00", "Workshop", False),
        ("2026-02-17", "18:00", "20:00", "Graduation", True),
    ):
        db.add(
            ProgrammeSession(
                programme=programme,
                title=title,
                translations={"es": {"title": f"{title} (es)"}},
                starts_at=local(day, start),
                ends_at=local(day, end),
                place="City Hall, Room 101",
                online_url="https://meet.example/academy" if title == "Workshop" else "",
                mandatory=mandatory,
            )
        )
    programme.starts_on, programme.ends_on = date(2026, 2, 3), date(2026, 2, 17)
    db.flush()
    db.refresh(programme)
    make.enrolment(programme)
    make.enrolment(programme)
    make.enrolment(programme, state="waitlisted")
    db.flush()
    return programme


def token(client, programme) -> str:
    page = client.get(f"{BASE}/{programme.id}/copy")
    assert page.status_code == 200
    return csrf_from(page.get_data(as_text=True))


def copy(client, programme, **kw):
    data = {
        "csrf_token": token(client, programme),
        "starts_on": "2026-04-07",
        "title": "Citizens Engagement Academy",
        "title_es": "Academia de Participación Ciudadana",
    }
    data.update(kw)
    return client.post(f"{BASE}/{programme.id}/copy", data=data)


def test_the_next_cohort_keeps_local_times_across_daylight_saving(client, db, coordinator, academy):
    page = client.get(f"{BASE}/{academy.id}/copy")
    text = page.get_data(as_text=True)
    assert "Tuesday" in text  # the weekday of the first session, as a hint
    assert 'value="Citizens Engagement Academy"' in text

    response = copy(client, academy)

    assert response.status_code == 302, response.get_data(as_text=True)
    cohort_id = int(re.search(r"/staff/programmes/(\d+)$", response.headers["Location"]).group(1))
    db.expire_all()
    cohort = db.get(Programme, cohort_id)
    assert cohort.id != academy.id
    assert (cohort.status, cohort.capacity, cohort.taken, cohort.waiting) == ("draft", 25, 0, 0)
    assert cohort.title == "Citizens Engagement Academy"
    assert cohort.translations["es"]["title"] == "Academia de Participación Ciudadana"
    assert (cohort.kind, cohort.completion_min_sessions) == ("academy", 2)
    assert (cohort.starts_on, cohort.ends_on) == (date(2026, 4, 7), date(2026, 4, 21))
    # 9 weeks later: the same local times although Chicago is now on daylight time (UTC-5).
    moved = [
        (
            s.starts_at.astimezone(CHICAGO).strftime("%a %Y-%m-%d %H:%M"),
            s.ends_at.astimezone(CHICAGO).strftime("%H:%M"),
            s.title,
            s.translations["es"]["title"],
            s.mandatory,
        )
        for s in cohort.sessions
    ]
    assert moved == [
        ("Tue 2026-04-07 18:00", "20:00", "Welcome", "Welcome (es)", True),
        ("Tue 2026-04-14 18:00", "20:00", "Your council", "Your council (es)", False),
        ("Sat 2026-04-18 10:00", "13:00", "Workshop", "Workshop (es)", False),
        ("Tue 2026-04-21 18:00", "20:00", "Graduation", "Graduation (es)", True),
    ]
    assert {s.place for s in cohort.sessions} == {"City Hall, Room 101"}
    assert [s.online_url for s in cohort.sessions] == ["", "", "https://meet.example/academy", ""]
    assert {s.reminded_at for s in cohort.sessions} == {None}
    assert cohort.sessions[0].starts_at.astimezone(UTC).hour == 23  # was 00:00 UTC in winter
    # The enrolment window moved by the same 63 days, at the same local times.
    assert (
        cohort.enrol_opens_at.astimezone(CHICAGO).strftime("%Y-%m-%d %H:%M") == "2026-03-09 09:00"
    )
    assert (
        cohort.enrol_closes_at.astimezone(CHICAGO).strftime("%Y-%m-%d %H:%M") == "2026-04-03 17:00"
    )
    assert [q.code for q in cohort.questions] == ["lives_here", "adult"]
    # Nobody is enrolled in the copy; the source is untouched.
    assert db.scalar(select(func.count()).where(Enrolment.programme_id == cohort.id)) == 0
    assert db.scalar(select(func.count()).where(Enrolment.programme_id == academy.id)) == 3
    assert len(db.get(Programme, academy.id).sessions) == 4
    [entry] = db.scalars(
        select(AuditEntry).where(AuditEntry.entity == "programme", AuditEntry.action == "copy")
    ).all()
    assert entry.entity_id == str(cohort.id)
    assert entry.actor_id == coordinator.id
    assert entry.after["copied_from"] == academy.id
    assert entry.after["shift_days"] == 63
    assert entry.after["sessions"] == 4
    # The new cohort's page says what happened.
    landed = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "The next cohort is ready as a draft" in landed


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"starts_on": ""}, "Enter the date of the new cohort"),
        ({"starts_on": "2026-02-30"}, "Enter a real date, like 2026-09-14"),
        ({"starts_on": "2026-03-01"}, "Choose a date in the future"),
        ({"starts_on": "2025-12-01"}, "Choose a date in the future"),
        ({"starts_on": "2026-02-10"}, "Choose a date in the future"),
        ({"title": ""}, "Enter the programme"),
        ({"title": "x" * 161}, "Keep this to 160 characters or fewer."),
    ],
)
def test_a_copy_is_refused_beside_the_field(client, db, coordinator, academy, changes, message):
    response = copy(client, academy, **changes)
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert message in text
    assert 'class="usa-error-message"' in text
    assert db.scalar(select(func.count()).select_from(Programme)) == 1


def test_a_copy_overlapping_a_cohort_with_the_same_title_is_refused(
    client, db, coordinator, academy
):
    assert copy(client, academy, starts_on="2026-04-07").status_code == 302
    # The spring cohort runs 7-21 April: a copy from 14 April overlaps it.
    response = copy(client, academy, starts_on="2026-04-14")
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert "A cohort with this title already runs on some of these days" in text
    assert "Apr 7, 2026 to Apr 21, 2026" in text
    # Under another title it is a programme of its own, and may run at the same time.
    response = copy(client, academy, starts_on="2026-04-14", title="Academy (Thursday group)")
    assert response.status_code == 302
    # A cancelled cohort does not block its dates.
    spring = db.scalar(
        select(Programme).where(Programme.starts_on == date(2026, 4, 7), Programme.id != academy.id)
    )
    spring.status = "cancelled"
    db.flush()
    assert copy(client, academy, starts_on="2026-04-14").status_code == 302
    assert db.scalar(select(func.count()).select_from(Programme)) == 4


def test_a_cohort_without_sessions_cannot_be_copied(client, db, make, coordinator):
    empty = make.programme(title="Empty", sessions=0)
    response = copy(client, empty, title="Empty")
    assert response.status_code == 400
    assert "This cohort has no sessions to copy" in response.get_data(as_text=True)


def test_the_copy_form_is_in_spanish(client, db, coordinator, academy):
    response = copy(client, academy, starts_on="2026-03-01")
    assert response.status_code == 400
    spanish = client.get(f"{BASE}/{academy.id}/copy?lang=es").get_data(as_text=True)
    assert "Organizar la próxima cohorte" in spanish
    assert "martes" in spanish


def test_only_coordinators_copy(client, make, academy):
    sign_in(client, make.user(role="agent"))
    assert client.get(f"{BASE}/{academy.id}/copy").status_code == 403


def test_cohorts_side_by_side(client, db, make, coordinator, academy):
    assert copy(client, academy).status_code == 302
    make.programme(title="Neighborhood Liaison Program", sessions=2)
    # The winter cohort is over: 4 sessions held, 2 enrolled, 6 of 8 possible marks present;
    # one of them completed.
    people = db.scalars(
        select(Enrolment).where(Enrolment.programme_id == academy.id, Enrolment.state == "enrolled")
    ).all()
    for number, item in enumerate(academy.sessions):
        for index, person in enumerate(people):
            db.add(
                Attendance(
                    session_id=item.id,
                    enrolment_id=person.id,
                    present=not (index == 1 and number < 2),
                )
            )
    academy.status = "completed"
    people[0].completed, people[1].completed = True, False
    db.flush()

    response = client.get(f"{BASE}/{academy.id}/cohorts")

    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert "2 cohorts side by side" in text
    assert "Neighborhood Liaison Program" not in text
    rows = re.findall(r"<tr[ >].*?</tr>", text, re.S)[1:]
    assert len(rows) == 2
    winter, spring = (re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)) for row in rows)
    assert "Feb 3, 2026 to Feb 17, 2026" in winter
    assert "4 of 4 held" in winter
    assert " 25 2 1 75% 1 of 2 (50%)" in winter
    assert "Apr 7, 2026 to Apr 21, 2026" in spring
    assert "0 of 4 held" in spring
    assert "Not yet known" in spring
    spanish = client.get(f"{BASE}/{academy.id}/cohorts?lang=es").get_data(as_text=True)
    assert "Cohortes de Citizens Engagement Academy" in spanish


def test_comparison_counts_only_this_programmes_cohorts(client, db, make, coordinator):
    alone = make.programme(title="Riverbank Clean-up Day", sessions=1)
    make.programme(title="Riverbank clean-up day (not the same)", sessions=1)
    text = client.get(f"{BASE}/{alone.id}/cohorts").get_data(as_text=True)
    assert "1 cohort side by side" in text


def test_unknown_programme_is_404(client, coordinator):
    assert client.get(f"{BASE}/999999/cohorts").status_code == 404
    assert client.get(f"{BASE}/999999/copy").status_code == 404
    assert client.get(f"{BASE}/99999999999/copy").status_code == 404


def test_shift_keeps_offsets_when_days_cross_the_autumn_change(client, db, make, coordinator):
    """A Sunday 01:30 session in November (the hour that happens twice) and an evening one:
    moved a week later, each keeps its local wall-clock time."""
    programme = make.programme(title="Night walk", sessions=0)
    for start in ("2026-10-25T18:00", "2026-10-31T22:00"):
        moment = datetime.fromisoformat(start).replace(tzinfo=CHICAGO).astimezone(UTC)
        db.add(
            ProgrammeSession(
                programme=programme,
                starts_at=moment,
                ends_at=moment + timedelta(hours=1),
                place="Riverside",
            )
        )
    db.flush()
    db.refresh(programme)
    response = copy(client, programme, starts_on="2026-11-01", title="Night walk")
    assert response.status_code == 302
    cohort = db.scalars(select(Programme).order_by(Programme.id.desc())).first()
    assert [s.starts_at.astimezone(CHICAGO).strftime("%a %d %H:%M") for s in cohort.sessions] == [
        "Sun 01 18:00",
        "Sat 07 22:00",
    ]
