"""Service levels admin: business calendars and closures, SLA policies, department settings."""

from __future__ import annotations

import html
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from portal.casework.models import Task
from portal.core import clock
from portal.core.audit import AuditEntry
from portal.requests.service import Filing, submit_request
from portal.sla.admin import calendars, common, departments, policies
from portal.sla.calendar import load_calendar
from portal.sla.models import DEFAULT_PAUSE_STATUSES, BusinessCalendar, CalendarClosure, SlaPolicy
from tests.conftest import csrf_from, sign_in

BASE = "/staff/admin/sla"
#: What a delete sent without its box ticked says (portal/confirm.py).
UNCONFIRMED = "Nothing was deleted. Tick the box to confirm you want to delete it."
NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)  # a Monday, 09:00 in Chicago


@pytest.fixture(autouse=True)
def frozen(freeze_clock):
    freeze_clock(NOW)


@pytest.fixture
def admin_user(make, client):
    user = make.user(role="admin", name="Ada Admin")
    sign_in(client, user)
    return user


@pytest.fixture
def token(client, admin_user) -> str:
    page = client.get(f"{BASE}/calendars/new")
    assert page.status_code == 200
    return csrf_from(page.get_data(as_text=True))


def _calendar(db, **kw) -> BusinessCalendar:
    kw.setdefault("code", "city-hours")
    kw.setdefault("name", "City hours")
    kw.setdefault("timezone", "America/Chicago")
    kw.setdefault(
        "hours", {day: [["08:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}
    )
    calendar = BusinessCalendar(**kw)
    db.add(calendar)
    db.flush()
    return calendar


def _calendar_form(token: str, **kw) -> dict[str, str]:
    data = {
        "csrf_token": token,
        "code": "public-works",
        "name": "Public works",
        "timezone": "America/Chicago",
        "hours_mon": "08:00-12:00, 13:00-17:00",
        "hours_tue": "08:00-12:00, 13:00-17:00",
        "hours_wed": "",
        "hours_thu": "",
        "hours_fri": "07:00-15:00",
        "hours_sat": "",
        "hours_sun": "",
        "holiday_country": "us",
        "holiday_subdivision": "il",
    }
    data.update(kw)
    return {k: v for k, v in data.items() if v is not None}


def _actions(db, entity: str) -> list[str]:
    return list(
        db.scalars(
            select(AuditEntry.action).where(AuditEntry.entity == entity).order_by(AuditEntry.id)
        )
    )


# --- calendars -------------------------------------------------------------------------------


def test_admin_creates_a_calendar_with_a_lunch_break_and_holidays(client, db, token, admin_user):
    response = client.post(f"{BASE}/calendars/new", data=_calendar_form(token))
    assert response.status_code == 302
    calendar = db.scalar(select(BusinessCalendar).where(BusinessCalendar.code == "public-works"))
    assert calendar.hours["mon"] == [["08:00", "12:00"], ["13:00", "17:00"]]
    assert calendar.hours["fri"] == [["07:00", "15:00"]] and calendar.hours["sun"] == []
    assert (calendar.holiday_country, calendar.holiday_subdivision) == ("US", "IL")
    assert not calendar.always_open

    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'value="08:00-12:00, 13:00-17:00"' in page
    assert "Next public holidays" in page
    assert "Casimir Pulaski Day" in page  # 2026-03-02: an Illinois holiday, today
    assert "Memorial Day" in page
    assert "Martin Luther King" not in page  # January is past

    listing = client.get(f"{BASE}/calendars/").get_data(as_text=True)
    assert "Public works" in listing and "US-IL" in listing

    entry = db.scalar(select(AuditEntry).where(AuditEntry.entity == "business_calendar"))
    assert entry.action == "created" and entry.actor_id == admin_user.id
    assert entry.after["hours"]["mon"] == [["08:00", "12:00"], ["13:00", "17:00"]]


def test_a_24_7_calendar_needs_no_hours(client, db, token):
    response = client.post(
        f"{BASE}/calendars/new",
        data=_calendar_form(
            token,
            code="emergency",
            name="Emergency",
            hours_mon="",
            hours_tue="",
            hours_fri="",
            always_open="y",
            holiday_country="",
            holiday_subdivision="",
        ),
    )
    assert response.status_code == 302
    calendar = db.scalar(select(BusinessCalendar).where(BusinessCalendar.code == "emergency"))
    assert calendar.always_open and calendar.holiday_country == ""


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"timezone": "America/Gotham"}, "Enter a time zone from the IANA list"),
        ({"timezone": "../../etc/passwd"}, "Enter a time zone from the IANA list"),
        ({"timezone": ""}, "Enter the time zone, like America/Chicago"),
        ({"hours_mon": "17:00-08:00"}, "ends before it starts"),
        ({"hours_mon": "08:00-12:00, 11:00-13:00"}, "must not overlap"),
        ({"hours_mon": "13:00-17:00, 08:00-12:00"}, "must be in order"),
        ({"hours_mon": "25:00-26:00"}, "does not exist"),
        ({"hours_mon": "nine to five"}, "is not a period like 08:00-12:00"),
        ({"hours_mon": "8" * 300}, "Keep the hours to 200 characters or fewer"),
        ({"holiday_country": "ZZ"}, "The holidays package does not know this country"),
        ({"holiday_country": "USA"}, "Enter the two-letter country code"),
        ({"holiday_subdivision": "XX"}, "This is not a state or region of that country"),
        (
            {"holiday_country": "", "holiday_subdivision": "IL"},
            "Enter the country of the state or region",
        ),
        ({"code": "Public Works!"}, "Use lower-case letters, digits, hyphens and underscores"),
        ({"code": ""}, "Enter a code for the calendar"),
        ({"name": "   "}, "Enter a name for the calendar"),
        ({"hours_mon": "", "hours_tue": "", "hours_fri": ""}, "Enter at least one working period"),
    ],
)
def test_bad_calendar_input_is_shown_next_to_the_field(client, db, token, changes, message):
    response = client.post(f"{BASE}/calendars/new", data=_calendar_form(token, **changes))
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert message in page
    assert "usa-error-message" in page
    assert db.scalar(select(BusinessCalendar)) is None


def test_24_00_ends_a_day_and_a_taken_code_is_refused(client, db, token):
    _calendar(db, code="night")
    response = client.post(
        f"{BASE}/calendars/new", data=_calendar_form(token, code="night", hours_mon="16:00-24:00")
    )
    assert response.status_code == 400
    assert "Another calendar already uses this code" in response.get_data(as_text=True)
    response = client.post(
        f"{BASE}/calendars/new", data=_calendar_form(token, code="late", hours_mon="16:00-24:00")
    )
    assert response.status_code == 302
    calendar = db.scalar(select(BusinessCalendar).where(BusinessCalendar.code == "late"))
    assert calendar.hours["mon"] == [["16:00", "24:00"]]


def test_admin_edits_a_calendar_and_a_stale_edit_is_refused(client, db, token):
    calendar = _calendar(db)
    page = client.get(f"{BASE}/calendars/{calendar.id}/edit").get_data(as_text=True)
    assert 'value="08:00-17:00"' in page and "no public holidays" in page
    state = common.fingerprint(calendars.calendar_snapshot(calendar))
    assert f'value="{state}"' in page
    calendar.name = "Changed meanwhile"
    db.flush()
    form = _calendar_form(token, code="city-hours", name="Mine", state=state)
    response = client.post(f"{BASE}/calendars/{calendar.id}/edit", data=form)
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "This calendar changed while you were editing" in page
    assert "Changed meanwhile" in page and 'value="Mine"' in page
    db.refresh(calendar)
    assert calendar.name == "Changed meanwhile"

    fresh = common.fingerprint(calendars.calendar_snapshot(calendar))
    clock.freeze(NOW + timedelta(minutes=1))
    response = client.post(f"{BASE}/calendars/{calendar.id}/edit", data={**form, "state": fresh})
    assert response.status_code == 302
    db.refresh(calendar)
    assert calendar.name == "Mine" and calendar.holiday_country == "US"
    assert calendar.updated_at == NOW + timedelta(minutes=1)
    assert _actions(db, "business_calendar") == ["updated"]


def test_closures_are_added_once_per_day_and_removed(client, db, token, admin_user):
    calendar = _calendar(db)
    url = f"{BASE}/calendars/{calendar.id}/closures"
    response = client.post(
        url, data={"csrf_token": token, "closure_day": "2026-03-04", "closure_name": "Snow day"}
    )
    assert response.status_code == 302
    closure = db.scalar(select(CalendarClosure).where(CalendarClosure.calendar_id == calendar.id))
    assert closure.day == date(2026, 3, 4) and closure.name == "Snow day"
    page = client.get(f"{BASE}/calendars/{calendar.id}/edit").get_data(as_text=True)
    assert "Snow day" in page and "2026-03-04" in page

    response = client.post(
        url, data={"csrf_token": token, "closure_day": "2026-03-04", "closure_name": "Again"}
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "The calendar is already closed on this day" in page
    assert 'value="City hours"' in page  # the calendar form is still there, unchanged
    for bad, message in (
        ("2026-02-30", "Enter a real date"),
        ("tomorrow", "Enter a real date"),
        ("", "Enter the date as year-month-day"),
    ):
        response = client.post(
            url, data={"csrf_token": token, "closure_day": bad, "closure_name": "Bad"}
        )
        assert response.status_code == 400 and message in response.get_data(as_text=True)
    response = client.post(
        url, data={"csrf_token": token, "closure_day": "2026-03-05", "closure_name": ""}
    )
    assert response.status_code == 400
    assert "Say why the city is closed" in response.get_data(as_text=True)

    # Without the box ticked nothing is deleted: the calendar's page comes back with the
    # message beside that closure's box (and in the error summary).
    remove = f"{BASE}/calendars/{calendar.id}/closures/{closure.id}/delete"
    response = client.post(remove, data={"csrf_token": token, "confirm": "no"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    box = f"confirm-closure-{closure.id}"
    assert page.count(UNCONFIRMED) == 2 and f'href="#{box}"' in page
    assert f'id="{box}" name="confirm" value="yes" required aria-invalid="true"' in page
    assert "Yes, delete the closure on" in page and 'value="City hours"' in page
    assert db.scalar(select(CalendarClosure.id)) == closure.id

    confirmed = {"csrf_token": token, "confirm": "yes"}
    assert client.post(remove, data=confirmed).status_code == 302
    assert db.scalar(select(CalendarClosure.id)) is None
    assert client.post(remove, data=confirmed).status_code == 302  # already gone
    assert _actions(db, "business_calendar") == ["closure_added", "closure_removed"]


def test_a_closure_stops_the_working_calendar(db):
    calendar = _calendar(db)
    monday = datetime(2026, 3, 9, 14, 0, tzinfo=UTC)  # 09:00 in Chicago (CDT)
    before = load_calendar(db, calendar.id, default_timezone="America/Chicago")
    assert before.is_working(monday)
    clock.freeze(NOW + timedelta(seconds=1))
    calendars.add_closure(db, calendar, day=date(2026, 3, 9), name="Snow day", actor=None)
    after = load_calendar(db, calendar.id, default_timezone="America/Chicago")
    assert not after.is_working(monday)
    with pytest.raises(common.SlaAdminError) as error:
        calendars.add_closure(db, calendar, day=date(2026, 3, 9), name="Twice", actor=None)
    assert error.value.errors == {"day": "duplicate_day"}


# --- policies --------------------------------------------------------------------------------


def _policy_form(token: str, **kw) -> dict:
    data = {
        "csrf_token": token,
        "name": "Potholes",
        "category": "",
        "priority": "",
        "department": "",
        "area": "",
        "first_response_amount": "4",
        "first_response_unit": "working_hours",
        "resolution_amount": "5",
        "resolution_unit": "calendar_days",
        "update_amount": "",
        "update_unit": "working_hours",
        "pause_statuses": ["waiting_on_resident"],
        "active": "y",
        "position": "",
    }
    data.update(kw)
    return data


def test_admin_creates_edits_and_deletes_policies(client, db, make, token, admin_user):
    new = client.get(f"{BASE}/policies/new").get_data(as_text=True)
    for status in DEFAULT_PAUSE_STATUSES:
        assert f'value="{status}" checked' in new
    assert "keep the targets they started with" in new
    category, dept, area = make.category(name="Potholes"), make.department(), make.area()
    response = client.post(
        f"{BASE}/policies/new",
        data=_policy_form(
            token,
            category=str(category.id),
            priority="urgent",
            department=str(dept.id),
            area=str(area.id),
        ),
    )
    assert response.status_code == 302
    policy = db.scalar(select(SlaPolicy).where(SlaPolicy.name == "Potholes"))
    assert (policy.category_id, policy.priority, policy.department_id, policy.area_id) == (
        category.id,
        "urgent",
        dept.id,
        area.id,
    )
    assert (policy.first_response_amount, policy.first_response_unit) == (4, "working_hours")
    assert (policy.resolution_amount, policy.resolution_unit) == (5, "calendar_days")
    assert policy.update_amount is None
    assert policy.pause_statuses == ["waiting_on_resident"] and policy.position == 10
    client.post(f"{BASE}/policies/new", data=_policy_form(token, name="Default"))
    default = db.scalar(select(SlaPolicy).where(SlaPolicy.name == "Default"))
    assert default.position == 20 and default.category_id is None

    listing = client.get(f"{BASE}/").get_data(as_text=True)
    assert listing.index("Potholes") < listing.index("Default")
    assert "5 calendar days" in listing and "Every case" in listing

    edit = client.get(f"{BASE}/policies/{policy.id}/edit").get_data(as_text=True)
    assert 'value="4"' in edit
    state = common.fingerprint(policies.policy_snapshot(policy))
    response = client.post(
        f"{BASE}/policies/{policy.id}/edit",
        data=_policy_form(
            token,
            name="Potholes, urgent",
            update_amount="2",
            update_unit="calendar_days",
            pause_statuses=[],
            position="5",
            state=state,
        ),
    )
    assert response.status_code == 302
    db.refresh(policy)
    assert policy.name == "Potholes, urgent" and policy.update_amount == 2
    assert policy.category_id is None and policy.pause_statuses == []
    assert policy.position == 5 and policy.active

    # Without the box ticked nothing is deleted: the policy's page comes back with the message.
    response = client.post(f"{BASE}/policies/{policy.id}/delete", data={"csrf_token": token})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert page.count(UNCONFIRMED) == 2 and 'href="#confirm-policy"' in page
    assert "Yes, delete the policy “Potholes, urgent”" in page
    assert 'value="Potholes, urgent"' in page  # the policy's form, as it is
    assert db.get(SlaPolicy, policy.id) is not None

    response = client.post(
        f"{BASE}/policies/{policy.id}/delete", data={"csrf_token": token, "confirm": "yes"}
    )
    assert response.status_code == 302
    assert db.scalar(select(SlaPolicy.id).where(SlaPolicy.id == policy.id)) is None
    assert _actions(db, "sla_policy") == ["created", "created", "updated", "deleted"]
    entry = db.scalar(
        select(AuditEntry).where(AuditEntry.action == "updated", AuditEntry.entity == "sla_policy")
    )
    assert entry.actor_id == admin_user.id
    assert entry.before["update_amount"] is None and entry.after["update_amount"] == 2


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"first_response_amount": "-4"}, "Enter a number greater than zero"),
        ({"first_response_amount": "-"}, "Enter a whole number, like 8"),
        ({"first_response_amount": "0"}, "Enter a number greater than zero"),
        ({"resolution_amount": "2.5"}, "Enter a whole number, like 8"),
        ({"resolution_amount": "ten"}, "Enter a whole number, like 8"),
        ({"update_amount": "99999999999999"}, "Enter a whole number, like 8"),
        ({"update_amount": "10001"}, "Enter 10000 or less"),
        ({"first_response_amount": "", "resolution_amount": ""}, "Set at least one target"),
        ({"resolution_unit": "fortnights"}, "Choose working hours or calendar days"),
        ({"priority": "whenever"}, "Choose a priority from the list"),
        ({"category": "999999"}, "Choose a category from the list"),
        ({"department": "abc"}, "Choose a department from the list"),
        ({"pause_statuses": ["resolved"]}, "Choose from the list"),
        ({"position": "-1"}, "Enter a whole number from 0"),
        ({"name": ""}, "Enter a name for the policy"),
        ({"name": "x" * 121}, "Keep the name to 120 characters or fewer"),
    ],
)
def test_bad_policy_input_is_shown_next_to_the_field(client, db, token, changes, message):
    response = client.post(f"{BASE}/policies/new", data=_policy_form(token, **changes))
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert db.scalar(select(SlaPolicy)) is None


def test_two_policies_cannot_share_a_name(client, db, token):
    """service-levels.toml knows a policy by its name, so names are unique."""
    db.add(SlaPolicy(name="Potholes", resolution_amount=8, position=10))
    db.flush()
    response = client.post(f"{BASE}/policies/new", data=_policy_form(token, name=" POTHOLES"))
    assert response.status_code == 400
    assert "Another policy has this name" in response.get_data(as_text=True)
    assert db.scalar(select(func.count()).select_from(SlaPolicy)) == 1


def test_a_stale_policy_edit_is_refused(client, db, token):
    policy = SlaPolicy(name="Original", resolution_amount=8, position=10)
    db.add(policy)
    db.flush()
    state = common.fingerprint(policies.policy_snapshot(policy))
    policy.resolution_amount = 16
    db.flush()
    response = client.post(
        f"{BASE}/policies/{policy.id}/edit", data=_policy_form(token, name="Mine", state=state)
    )
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "This policy changed while you were editing" in page and 'value="Mine"' in page
    db.refresh(policy)
    assert policy.name == "Original" and policy.resolution_amount == 16


def test_domain_refuses_what_the_form_would(db):
    with pytest.raises(common.SlaAdminError) as error:
        policies.create_policy(
            db,
            policies.PolicyInput(
                name="x",
                targets={
                    "resolution": (0, "working_hours"),
                    "update": (policies.AMOUNT_MAX + 1, "weeks"),
                },
                pause_statuses=["closed"],
                position=-5,
            ),
            actor=None,
        )
    assert error.value.errors == {
        "resolution_amount": "not_positive",
        "update_unit": "unknown",
        "update_amount": "too_large",
        "pause_statuses": "unknown",
        "position": "invalid",
    }


# --- departments -----------------------------------------------------------------------------


def test_admin_sets_a_department_calendar_and_breach_actions(client, db, make, token):
    dept = make.department(name="Street Crews")
    calendar = _calendar(db, name="Crew hours")
    listing = client.get(f"{BASE}/departments/").get_data(as_text=True)
    assert "Street Crews" in listing and "City default" in listing
    page = client.get(f"{BASE}/departments/{dept.id}/edit").get_data(as_text=True)
    assert "Move breached tasks to the department's escalation queue" in page
    assert "Raise the case's priority one step" in page
    state = common.fingerprint(departments.department_snapshot(dept))
    response = client.post(
        f"{BASE}/departments/{dept.id}/edit",
        data={
            "csrf_token": token,
            "calendar": str(calendar.id),
            "assignment_mode": "queue",
            "breach_actions": ["raise_priority", "escalation_queue"],
            "state": state,
        },
    )
    assert response.status_code == 302
    db.refresh(dept)
    assert dept.calendar_id == calendar.id
    assert dept.breach_actions == ["escalation_queue", "raise_priority"]
    listing = client.get(f"{BASE}/departments/").get_data(as_text=True)
    assert "Crew hours" in listing and "Raise the case&#39;s priority one step" in listing

    response = client.post(
        f"{BASE}/departments/{dept.id}/edit",
        data={"csrf_token": token, "calendar": "", "assignment_mode": "queue", "state": state},
    )
    assert response.status_code == 409  # drawn before the first change
    assert "These settings changed while you were editing" in response.get_data(as_text=True)
    state = common.fingerprint(departments.department_snapshot(dept))
    response = client.post(
        f"{BASE}/departments/{dept.id}/edit",
        data={"csrf_token": token, "calendar": "", "assignment_mode": "queue", "state": state},
    )
    assert response.status_code == 302
    db.refresh(dept)
    assert dept.calendar_id is None and dept.breach_actions == []
    entries = db.scalars(
        select(AuditEntry).where(AuditEntry.entity == "department_sla").order_by(AuditEntry.id)
    ).all()
    assert [e.after for e in entries] == [
        {
            "calendar_id": calendar.id,
            "breach_actions": ["escalation_queue", "raise_priority"],
            "assignment_mode": "queue",
        },
        {"calendar_id": None, "breach_actions": [], "assignment_mode": "queue"},
    ]


def test_forged_department_settings_are_form_errors(client, db, make, token):
    dept = make.department()
    for data, message in (
        ({"calendar": "999999"}, "Choose a calendar from the list"),
        ({"calendar": "x"}, "Choose a calendar from the list"),
        ({"breach_actions": ["fire_everyone"]}, "Choose from the list"),
        ({"assignment_mode": "random"}, _CHOOSE_MODE),
        ({"assignment_mode": ""}, _CHOOSE_MODE),
        ({"assignment_mode": None}, _CHOOSE_MODE),
    ):
        form = {"csrf_token": token, "assignment_mode": "queue", **data}
        response = client.post(
            f"{BASE}/departments/{dept.id}/edit",
            data={k: v for k, v in form.items() if v is not None},
        )
        assert response.status_code == 400
        assert message in html.unescape(response.get_data(as_text=True))
    db.refresh(dept)
    assert dept.calendar_id is None and dept.breach_actions == []
    assert dept.assignment_mode == "queue"
    with pytest.raises(common.SlaAdminError) as error:
        departments.update_department(
            db, dept, calendar_id=None, breach_actions=[], assignment_mode="random", actor=None
        )
    assert error.value.errors == {"assignment_mode": "unknown"}


_CHOOSE_MODE = "Choose how new tasks reach the department's staff"


def test_admin_sets_how_a_department_assigns_new_tasks(
    client, db, make, token, admin_user, settings
):
    dept = make.department(name="Street Crews")
    category = make.category(department=dept)
    busy, idle = make.staff(dept, name="Busy Bea"), make.staff(dept, name="Idle Ian")
    make.task(make.request(category=category), dept, assignee_id=busy.id)
    listing = client.get(f"{BASE}/departments/").get_data(as_text=True)
    assert "Left in the queue" in listing
    page = client.get(f"{BASE}/departments/{dept.id}/edit").get_data(as_text=True)
    assert 'value="queue" checked' in page and "Least loaded" in page
    state = common.fingerprint(departments.department_snapshot(dept))
    response = client.post(
        f"{BASE}/departments/{dept.id}/edit",
        data={
            "csrf_token": token,
            "calendar": "",
            "assignment_mode": "least_loaded",
            "state": state,
        },
    )
    assert response.status_code == 302
    db.refresh(dept)
    assert dept.assignment_mode == "least_loaded"
    listing = client.get(f"{BASE}/departments/").get_data(as_text=True)
    assert "Least loaded" in listing and "Left in the queue" not in listing
    [entry] = db.scalars(select(AuditEntry).where(AuditEntry.entity == "department_sla"))
    assert entry.actor_id == admin_user.id
    assert entry.before["assignment_mode"] == "queue"
    assert entry.after["assignment_mode"] == "least_loaded"
    # The next request filed for the department goes to the agent with the fewest open tasks.
    filed = submit_request(
        db,
        settings=settings,
        filing=Filing(category_code=category.code, description="A hole", address="1 Main Street"),
    ).request
    task = db.scalar(select(Task).where(Task.request_id == filed.id))
    assert task.assignee_id == idle.id

    # A form drawn before someone else changed the mode is a conflict showing the mode now.
    response = client.post(
        f"{BASE}/departments/{dept.id}/edit",
        data={
            "csrf_token": token,
            "calendar": "",
            "assignment_mode": "round_robin",
            "state": state,
        },
    )
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "These settings changed while you were editing" in page
    assert "<dd>Least loaded</dd>" in page and 'value="round_robin" checked' in page
    db.refresh(dept)
    assert dept.assignment_mode == "least_loaded"


# --- garbage ---------------------------------------------------------------------------------


def test_garbage_is_never_a_500(client, db, make, token):
    calendar = _calendar(db)
    other = _calendar(db, code="other")
    closure = CalendarClosure(calendar_id=other.id, day=date(2026, 5, 1), name="Other")
    db.add(closure)
    db.flush()
    for url in (
        f"{BASE}/policies/999999/edit",
        f"{BASE}/calendars/999999/edit",
        f"{BASE}/departments/999999/edit",
        f"{BASE}/policies/abc/edit",
        f"{BASE}/calendars/{10**20}/edit",
        f"{BASE}/policies/{10**20}/edit",
    ):
        assert client.get(url).status_code == 404
    for url in (
        f"{BASE}/policies/999999/delete",
        f"{BASE}/calendars/999999/closures",
        f"{BASE}/calendars/999999/closures/1/delete",
    ):
        assert client.post(url, data={"csrf_token": token, "confirm": "yes"}).status_code == 404
    # A closure of another calendar is not removed through this one.
    client.post(
        f"{BASE}/calendars/{calendar.id}/closures/{closure.id}/delete",
        data={"csrf_token": token, "confirm": "yes"},
    )
    assert db.get(CalendarClosure, closure.id) is not None
    # Without the CSRF token nothing changes.
    assert client.post(f"{BASE}/policies/new", data=_policy_form("")).status_code == 400
    assert (
        client.post(
            f"{BASE}/calendars/{calendar.id}/edit",
            data={"name": "x", "pause_statuses": "y", "hours_mon": ["a", "b"]},
        ).status_code
        == 400
    )
    response = client.post(
        f"{BASE}/calendars/{calendar.id}/edit",
        data={
            "csrf_token": token,
            "code": "\u00e9" * 50,
            "timezone": "x" * 100,
            "hours_mon": "08:00-12:00,,,",
            "holiday_country": "1",
            "always_open": "maybe",
            "state": "stale",
        },
    )
    assert response.status_code in (400, 409)
