"""Staff accounts: `flask staff`, the admin pages, deactivation and the audit trail."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.auth.models import User
from portal.core.audit import AuditEntry
from portal.core.outbox import OutboxMessage
from portal.requests.models import Event
from portal.staff import queries
from portal.staff.cli import staff_cli
from portal.staff.models import StaffMembership
from tests.conftest import csrf_from
from tests.factories import PASSWORD

NEW_PASSWORD = "a long enough password"


def _sign_in(client, email: str, password: str = PASSWORD):
    page = client.get("/account/sign-in").get_data(as_text=True)
    return client.post(
        "/account/sign-in",
        data={"csrf_token": csrf_from(page), "email": email, "password": password},
    )


def _user(db, email: str) -> User | None:
    return db.scalar(
        select(User).where(User.email == email).execution_options(populate_existing=True)
    )


def _memberships(db, user: User) -> dict[int, str]:
    return dict(
        db.execute(
            select(StaffMembership.department_id, StaffMembership.role).where(
                StaffMembership.user_id == user.id
            )
        ).all()
    )


def _audit(db, user: User) -> list[AuditEntry]:
    return list(
        db.scalars(
            select(AuditEntry)
            .where(AuditEntry.entity == "staff", AuditEntry.entity_id == str(user.id))
            .order_by(AuditEntry.id)
        )
    )


@pytest.fixture
def admin(make, client):
    user = make.user(role="admin", name="Ada Admin")
    assert _sign_in(client, user.email).status_code == 302
    return user


def _staff(make, db, department, role="agent", **kw) -> User:
    user = make.user(role=role, **kw)
    db.add(StaffMembership(user_id=user.id, department_id=department.id, role=role))
    db.flush()
    return user


# --- flask staff -----------------------------------------------------------------------------


def test_cli_creates_a_member_with_departments_and_audits_it(runner, db, make):
    roads, water = make.department(code="roads"), make.department(code="water")
    result = runner.invoke(
        staff_cli,
        [
            "create",
            " Pat@City.Example ",
            "--name",
            "Pat Jones",
            "--role",
            "supervisor",
            "--department",
            "roads",
            "--department",
            "water:agent",
            "--password",
            NEW_PASSWORD,
        ],
    )
    assert result.exit_code == 0, result.output
    assert "Created supervisor pat@city.example." in result.output
    user = _user(db, "pat@city.example")
    assert user is not None and user.role == "supervisor" and user.active
    assert _memberships(db, user) == {roads.id: "supervisor", water.id: "agent"}
    [entry] = _audit(db, user)
    assert entry.action == "created" and entry.actor_id is None
    assert entry.after["departments"] == {"roads": "supervisor", "water": "agent"}


def test_cli_member_can_sign_in_with_a_prompted_password(runner, db, make, client):
    make.department(code="parks")
    result = runner.invoke(
        staff_cli,
        ["create", "kim@city.example", "--name", "Kim", "--role", "agent", "--department", "parks"],
        input=f"{NEW_PASSWORD}\n{NEW_PASSWORD}\n",
    )
    assert result.exit_code == 0, result.output
    assert NEW_PASSWORD not in result.output
    assert _sign_in(client, "kim@city.example", NEW_PASSWORD).status_code == 302


def test_cli_generates_a_password_and_prints_it_once(runner, db):
    result = runner.invoke(
        staff_cli,
        ["create", "lee@city.example", "--name", "Lee", "--role", "admin", "--generate-password"],
    )
    assert result.exit_code == 0, result.output
    assert result.output.count("Password: ") == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--role", "agent", "--department", "nowhere"], "no department has the code 'nowhere'"),
        (["--role", "agent"], "at least one --department"),
        (["--role", "agent", "--department", "roads:supervisor"], "cannot supervise"),
        (["--role", "agent", "--department", "roads:boss"], "agent or supervisor"),
        (["--role", "king"], "Invalid value for '--role'"),
    ],
)
def test_cli_refuses_bad_input_and_creates_nothing(runner, db, make, args, message):
    make.department(code="roads")
    result = runner.invoke(
        staff_cli,
        ["create", "bad@city.example", "--name", "Bad", "--password", NEW_PASSWORD, *args],
    )
    assert result.exit_code != 0
    assert message in result.output
    assert _user(db, "bad@city.example") is None


def test_cli_refuses_a_taken_email_and_a_weak_password(runner, db, make):
    make.user(email="taken@city.example")
    taken = runner.invoke(
        staff_cli,
        [
            "create",
            "TAKEN@city.example",
            "--name",
            "T",
            "--role",
            "admin",
            "--password",
            NEW_PASSWORD,
        ],
    )
    assert taken.exit_code != 0 and "already uses taken@city.example" in taken.output
    weak = runner.invoke(
        staff_cli,
        ["create", "weak@city.example", "--name", "W", "--role", "admin", "--password", "short"],
    )
    assert weak.exit_code != 0 and "at least 8 characters" in weak.output


def test_cli_deactivate_ends_sessions_and_keeps_history(runner, db, make, app):
    roads = make.department(code="roads")
    member = _staff(make, db, roads, email="gone@city.example")
    sr = make.request()
    db.add(
        Event(
            request_id=sr.id,
            kind="comment",
            public=True,
            actor_id=member.id,
            actor_kind="staff",
            body="On our way",
        )
    )
    db.flush()
    browser = app.test_client()
    assert _sign_in(browser, member.email).status_code == 302
    assert browser.get("/account").status_code == 200

    result = runner.invoke(staff_cli, ["deactivate", "Gone@city.example"])
    assert result.exit_code == 0, result.output
    assert "Deactivated gone@city.example." in result.output

    # The open session ends at once, and the password no longer works.
    response = browser.get("/account")
    assert response.status_code == 302 and "/account/sign-in" in response.headers["Location"]
    failed = _sign_in(app.test_client(), member.email)
    assert failed.status_code != 302
    # History stays: the account, its memberships and its timeline entries.
    assert _user(db, member.email).active is False
    assert _memberships(db, member) == {roads.id: "agent"}
    assert db.scalar(select(Event.body).where(Event.actor_id == member.id)) == "On our way"
    assert [e.action for e in _audit(db, member)] == ["deactivated"]

    again = runner.invoke(staff_cli, ["deactivate", member.email])
    assert again.exit_code == 0 and "already inactive" in again.output
    assert runner.invoke(staff_cli, ["reactivate", member.email]).exit_code == 0
    assert _sign_in(app.test_client(), member.email).status_code == 302


def test_cli_deactivate_refuses_unknown_and_resident_accounts(runner, make):
    resident = make.user()
    unknown = runner.invoke(staff_cli, ["deactivate", "nobody@city.example"])
    assert unknown.exit_code != 0 and "no account has the email" in unknown.output
    not_staff = runner.invoke(staff_cli, ["deactivate", resident.email])
    assert not_staff.exit_code != 0 and "resident" in not_staff.output


def test_cli_list_shows_staff_with_departments(runner, db, make):
    roads = make.department(code="roads")
    _staff(make, db, roads, name="Aaron Agent", email="aaron@city.example")
    make.user(name="Rita Resident")
    result = runner.invoke(staff_cli, ["list", "--department", "roads"])
    assert result.exit_code == 0, result.output
    assert "aaron@city.example\tAaron Agent\tagent\tactive\troads:agent" in result.output
    assert "Rita" not in result.output
    assert runner.invoke(staff_cli, ["list", "--department", "nope"]).exit_code != 0


# --- Admin pages -----------------------------------------------------------------------------


def test_admin_creates_a_member_who_is_emailed_a_password_link(client, db, make, admin):
    roads, water = make.department(code="roads"), make.department(code="water")
    page = client.get("/staff/admin/staff/new")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and f'name="dept_{roads.id}"' in html
    response = client.post(
        "/staff/admin/staff/new",
        data={
            "csrf_token": csrf_from(html),
            "email": "New.Agent@City.Example",
            "name": "Nia Agent",
            "role": "supervisor",
            f"dept_{roads.id}": "supervisor",
            f"dept_{water.id}": "agent",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    user = _user(db, "new.agent@city.example")
    assert user.role == "supervisor"
    assert _memberships(db, user) == {roads.id: "supervisor", water.id: "agent"}
    [entry] = _audit(db, user)
    assert (entry.action, entry.actor_id) == ("created", admin.id)
    assert (
        db.scalar(
            select(OutboxMessage.kind).where(OutboxMessage.to_address == "new.agent@city.example")
        )
        == "staff_invitation"
    )
    assert "Nia Agent can now work" in client.get(response.headers["Location"]).get_data(
        as_text=True
    )


def test_admin_create_with_a_bad_department_is_a_form_error(client, db, make, admin):
    roads = make.department(code="roads")
    html = client.get("/staff/admin/staff/new").get_data(as_text=True)
    response = client.post(
        "/staff/admin/staff/new",
        data={
            "csrf_token": csrf_from(html),
            "email": "x@city.example",
            "name": "X",
            "role": "agent",
            f"dept_{roads.id + 1000}": "agent",
        },
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "There is a problem" in page
    assert "One of the departments no longer exists" in page
    assert _user(db, "x@city.example") is None


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"role": "agent"}, "must belong to at least one department"),
        ({"role": "agent", "dept": "supervisor"}, "An agent cannot supervise"),
        ({"role": "agent", "dept": "boss"}, "Not a valid choice"),
        ({"role": "emperor", "dept": "agent"}, "Not a valid choice"),
        ({"role": "agent", "dept": "agent", "email": "not an email"}, "correct format"),
        ({"role": "agent", "dept": "agent", "name": ""}, "s name"),
    ],
)
def test_admin_create_shows_bad_input_next_to_the_field(client, db, make, admin, data, message):
    roads = make.department(code="roads")
    html = client.get("/staff/admin/staff/new").get_data(as_text=True)
    form = {
        "csrf_token": csrf_from(html),
        "email": "y@city.example",
        "name": "Y",
        "role": data["role"],
    }
    if "dept" in data:
        form[f"dept_{roads.id}"] = data["dept"]
    form.update({k: v for k, v in data.items() if k in ("email", "name")})
    response = client.post("/staff/admin/staff/new", data=form)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert _user(db, "y@city.example") is None


def test_admin_create_with_a_taken_email(client, make, admin):
    roads = make.department(code="roads")
    make.user(email="taken@city.example")
    html = client.get("/staff/admin/staff/new").get_data(as_text=True)
    response = client.post(
        "/staff/admin/staff/new",
        data={
            "csrf_token": csrf_from(html),
            "email": "taken@city.example",
            "name": "T",
            "role": "agent",
            f"dept_{roads.id}": "agent",
        },
    )
    assert response.status_code == 400
    assert "An account already uses this email address." in response.get_data(as_text=True)


def test_admin_edits_roles_and_memberships_with_an_audit_entry(client, db, make, admin):
    roads, water = make.department(code="roads"), make.department(code="water")
    member = _staff(make, db, roads, name="Sam Agent")
    html = client.get(f"/staff/admin/staff/{member.id}").get_data(as_text=True)
    response = client.post(
        f"/staff/admin/staff/{member.id}",
        data={
            "csrf_token": csrf_from(html),
            "state": _state(html),
            "name": "Sam Supervisor",
            "role": "supervisor",
            f"dept_{water.id}": "supervisor",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    assert _memberships(db, member) == {water.id: "supervisor"}
    [entry] = _audit(db, member)
    assert entry.action == "updated" and entry.actor_id == admin.id
    assert entry.before == {
        "email": member.email,
        "name": "Sam Agent",
        "role": "agent",
        "active": True,
        "departments": {"roads": "agent"},
    }
    assert entry.after["departments"] == {"water": "supervisor"}
    assert entry.after["role"] == "supervisor" and entry.after["name"] == "Sam Supervisor"


def _state(html: str) -> str:
    import re

    match = re.search(r'name="state"[^>]*value="([^"]*)"', html) or re.search(
        r'value="([^"]*)"[^>]*name="state"', html
    )
    assert match
    return match.group(1)


def test_two_admins_editing_the_same_member_second_is_told(client, db, make, admin):
    roads = make.department(code="roads")
    member = _staff(make, db, roads, name="Sam Agent")
    html = client.get(f"/staff/admin/staff/{member.id}").get_data(as_text=True)
    member.name = "Renamed Elsewhere"
    db.flush()
    response = client.post(
        f"/staff/admin/staff/{member.id}",
        data={
            "csrf_token": csrf_from(html),
            "state": _state(html),
            "name": "Mine",
            "role": "agent",
            f"dept_{roads.id}": "agent",
        },
    )
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "This member changed while you were editing" in page
    assert "Renamed Elsewhere" in page
    assert _user(db, member.email).name == "Renamed Elsewhere"
    assert _audit(db, member) == []


def test_admin_deactivates_and_reactivates_a_member(client, db, make, admin, app):
    roads = make.department(code="roads")
    member = _staff(make, db, roads)
    theirs = app.test_client()
    assert _sign_in(theirs, member.email).status_code == 302
    html = client.get(f"/staff/admin/staff/{member.id}").get_data(as_text=True)
    response = client.post(
        f"/staff/admin/staff/{member.id}/deactivate", data={"csrf_token": csrf_from(html)}
    )
    assert response.status_code == 302
    assert _user(db, member.email).active is False
    assert theirs.get("/account").status_code == 302
    listing = client.get("/staff/admin/staff/?status=inactive").get_data(as_text=True)
    assert member.email in listing and "Inactive" in listing
    client.post(f"/staff/admin/staff/{member.id}/reactivate", data={"csrf_token": csrf_from(html)})
    assert _user(db, member.email).active is True
    assert [e.action for e in _audit(db, member)] == ["deactivated", "reactivated"]


def test_admin_cannot_deactivate_themselves(client, db, admin):
    html = client.get(f"/staff/admin/staff/{admin.id}").get_data(as_text=True)
    response = client.post(
        f"/staff/admin/staff/{admin.id}/deactivate",
        data={"csrf_token": csrf_from(html)},
        follow_redirects=True,
    )
    assert "You cannot deactivate your own account." in response.get_data(as_text=True)
    assert _user(db, admin.email).active is True


def test_residents_are_not_staff_pages(client, make, admin):
    resident = make.user()
    assert client.get(f"/staff/admin/staff/{resident.id}").status_code == 404
    assert client.get("/staff/admin/staff/999999").status_code == 404


def test_list_filters_and_pages_by_key(client, db, make, admin, monkeypatch):
    monkeypatch.setattr(queries, "PAGE_SIZE", 2)
    roads, water = make.department(code="roads"), make.department(code="water")
    for name in ("Bea", "Cal", "Dee"):
        _staff(make, db, roads, name=name)
    _staff(make, db, water, name="Wes")
    first = client.get("/staff/admin/staff/?department=roads").get_data(as_text=True)
    assert "Bea" in first and "Cal" in first and "Dee" not in first and "Wes" not in first
    assert "Next page" in first
    cal = _user(db, db.scalar(select(User.email).where(User.name == "Cal")))
    second = client.get(f"/staff/admin/staff/?department=roads&after={cal.id}")
    assert "Dee" in second.get_data(as_text=True)
    assert "Bea" not in second.get_data(as_text=True)
    admins = client.get("/staff/admin/staff/?role=admin").get_data(as_text=True)
    assert "Ada Admin" in admins and "Bea" not in admins
    bad = client.get("/staff/admin/staff/?department=nowhere&role=king&after=x")
    assert bad.status_code == 200 and "Not a valid choice" in bad.get_data(as_text=True)


def test_only_admins_manage_staff(client, db, make):
    roads = make.department(code="roads")
    agent = _staff(make, db, roads)
    assert _sign_in(client, agent.email).status_code == 302
    assert client.get("/staff/admin/staff/").status_code == 403
    assert client.get("/staff/admin/staff/new").status_code == 403
    html = client.get("/account").get_data(as_text=True)
    response = client.post(
        f"/staff/admin/staff/{agent.id}/deactivate", data={"csrf_token": csrf_from(html)}
    )
    assert response.status_code == 403
    assert _user(db, agent.email).active is True


def test_supervisors_see_their_own_departments_staff_read_only(client, db, make):
    roads, water = make.department(code="roads"), make.department(code="water")
    boss = _staff(make, db, roads, role="supervisor", name="Boss")
    _staff(make, db, roads, name="Roads Agent")
    _staff(make, db, water, name="Water Agent")
    assert _sign_in(client, boss.email).status_code == 302
    page = client.get("/staff/admin/staff/department/roads")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Roads Agent" in html and "Water Agent" not in html
    assert "/staff/admin/staff/" + str(boss.id) not in html  # no edit links
    assert client.get("/staff/admin/staff/department/water").status_code == 404
    assert client.get("/staff/admin/staff/department/nowhere").status_code == 404


def test_demo_staff_work_in_their_departments(runner, db):
    for _ in range(2):
        result = runner.invoke(args=["demo", "load", "--requests", "0"])
        assert result.exit_code == 0, result.output
    rows = db.execute(
        select(User.email, StaffMembership.role).join(
            StaffMembership, StaffMembership.user_id == User.id
        )
    ).all()
    assert rows, "the demo staff have no departments"
    for email, role in rows:
        assert email.endswith(f".{role}@riverton.example")
    per_person = {}
    for email, _role in rows:
        per_person[email] = per_person.get(email, 0) + 1
    assert set(per_person.values()) == {1}  # a second run added nothing


def test_admin_cannot_take_away_their_own_admin_role(client, db, make, admin):
    roads = make.department(code="roads")
    html = client.get(f"/staff/admin/staff/{admin.id}").get_data(as_text=True)
    response = client.post(
        f"/staff/admin/staff/{admin.id}",
        data={
            "csrf_token": csrf_from(html),
            "state": _state(html),
            "name": "Ada Admin",
            "role": "agent",
            f"dept_{roads.id}": "agent",
        },
    )
    assert response.status_code == 400
    assert "You cannot take away your own administrator role." in response.get_data(as_text=True)
    assert _user(db, admin.email).role == "admin"
    assert _memberships(db, admin) == {}
