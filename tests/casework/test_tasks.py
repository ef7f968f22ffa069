"""Tasks across departments: parallel work, transfer, assignment, the case resolving itself."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.casework.models import Task
from portal.notifications.models import StaffNotice
from portal.requests.models import Event
from tests.casework.test_case import Office, act, events, make_office, outbox_to, sign_in
from tests.conftest import csrf_from


@pytest.fixture
def office(make, db) -> Office:
    return make_office(make, db)


def tasks_of(db, case):
    db.expire_all()
    return list(db.scalars(select(Task).where(Task.request_id == case.id).order_by(Task.id)))


def task_act(client, case, task, action, **data):
    return act(client, case, f"tasks/{task.id}/{action}", **data)


def test_parallel_tasks_resolve_the_case_when_the_last_is_done(app, client, db, office):
    case = office.case
    sign_in(client, office.agent_x)
    # X adds a task for Y, replies to the resident, then finishes X's own task.
    response = act(
        client,
        case,
        "tasks",
        department=str(office.dept_y.id),
        title="Repair the water main before repaving",
    )
    assert response.status_code == 302
    task_y = tasks_of(db, case)[-1]
    assert task_y.department_id == office.dept_y.id and task_y.is_open
    assert (
        act(client, case, "reply", body="Water will repair the main first.", send="1").status_code
        == 302
    )
    assert act(client, case, "note", note="Contractor booked for Tuesday").status_code == 302
    assert (
        task_act(client, case, office.task_x, "complete", done_note="Street part ready").status_code
        == 302
    )
    db.refresh(case)
    assert case.is_open and case.status == "new"
    mails_before = len(outbox_to(db, "rita@example.org"))

    # Y now sees the case (through its task) and finishes its task: the case resolves.
    other = app.test_client()
    sign_in(other, office.agent_y)
    assert other.get(f"/staff/cases/{case.reference}").status_code == 200
    assert task_act(other, case, task_y, "complete").status_code == 302
    db.refresh(case)
    assert case.status == "resolved" and not case.is_open
    resolved = events(db, case, "status_changed")[-1]
    assert resolved.public and resolved.data["to"] == "resolved" and resolved.body
    assert resolved.data["department_name"] == "Water"
    mails = outbox_to(db, "rita@example.org")
    assert len(mails) == mails_before + 1 and "Resolved" in mails[-1].body_text

    # The resident's page shows only public entries.
    public = app.test_client().get(f"/requests/{case.reference}").get_data(as_text=True)
    assert "Water will repair the main first." in public
    assert "Contractor booked" not in public and "Street part ready" not in public
    assert "Resolved" in public
    for mail in mails:
        assert "Contractor booked" not in mail.body_text + mail.body_html


def test_cancelling_the_last_task_resolves_the_case(client, db, office, settings):
    sign_in(client, office.agent_x)
    assert (
        task_act(
            client, office.case, office.task_x, "cancel", cancel_note="Already fixed by the county"
        ).status_code
        == 302
    )
    db.refresh(office.case)
    assert office.case.status == "resolved"
    db.refresh(office.task_x)
    assert office.task_x.status == "cancelled" and office.task_x.closed_at is not None


def test_transfer_a_task_with_a_reason(client, db, office):
    sign_in(client, office.agent_x)
    response = task_act(
        client,
        office.case,
        office.task_x,
        "transfer",
        to_department=str(office.dept_y.id),
        reason="It is a water leak",
    )
    assert response.status_code == 302
    old, new = tasks_of(db, office.case)
    assert old.status == "transferred" and not old.is_open
    assert new.department_id == office.dept_y.id and new.transferred_from_id == old.id
    assert new.is_open
    note = events(db, office.case, "internal_note")[-1]
    assert note.body == "It is a water leak" and not note.public
    db.refresh(office.case)
    assert office.case.is_open and office.case.department_id == office.dept_y.id
    # A reason is required; the same department is not a transfer.
    assert task_act(
        client, office.case, new, "transfer", to_department=str(office.dept_x.id), reason=""
    ).status_code in (400, 404)


def test_transfer_needs_a_reason_and_another_department(client, db, office):
    sign_in(client, office.agent_x)
    task = office.task_x
    assert (
        task_act(
            client, office.case, task, "transfer", to_department=str(office.dept_y.id), reason=" "
        ).status_code
        == 400
    )
    assert (
        task_act(
            client, office.case, task, "transfer", to_department=str(office.dept_x.id), reason="no"
        ).status_code
        == 400
    )
    assert (
        task_act(
            client, office.case, task, "transfer", to_department="999999", reason="unknown"
        ).status_code
        == 400
    )
    db.refresh(task)
    assert task.is_open and task.status == "open"


def test_assign_only_to_members_of_the_task_department(client, db, office):
    sign_in(client, office.agent_x)
    task = office.task_x
    assert (
        task_act(client, office.case, task, "assign", assignee=str(office.agent_x2.id)).status_code
        == 302
    )
    db.refresh(task)
    assert task.assignee_id == office.agent_x2.id
    # The new assignee gets a notice (and its email); the one who assigned does not.
    notices = db.scalars(select(StaffNotice).where(StaffNotice.kind == "task_assigned")).all()
    assert [n.user_id for n in notices] == [office.agent_x2.id]
    assert outbox_to(db, office.agent_x2.email)
    assert (
        task_act(client, office.case, task, "assign", assignee=str(office.agent_y.id)).status_code
        == 400
    )
    db.refresh(task)
    assert task.assignee_id == office.agent_x2.id
    assert task_act(client, office.case, task, "assign", assignee="").status_code == 302
    db.refresh(task)
    assert task.assignee_id is None


def test_forged_form_for_another_departments_task_is_404(app, client, db, office):
    task_y = Task(request_id=office.case.id, department_id=office.dept_y.id, title="Main")
    db.add(task_y)
    db.flush()
    # X may open the case but not work Y's task.
    sign_in(client, office.agent_x)
    for action in ("complete", "cancel", "assign"):
        assert task_act(client, office.case, task_y, action).status_code == 404
    # Y works its own task but cannot touch X's, nor a task of another case.
    other = app.test_client()
    sign_in(other, office.agent_y)
    assert task_act(other, office.case, office.task_x, "complete").status_code == 404
    token = csrf_from(other.get("/account").get_data(as_text=True))
    response = other.post(
        f"/staff/cases/{office.case.reference}/tasks/99999999/complete", data={"csrf_token": token}
    )
    assert response.status_code == 404
    db.refresh(office.task_x)
    assert office.task_x.is_open


def test_adding_a_task_for_an_unknown_department_is_refused(client, db, office):
    sign_in(client, office.agent_x)
    response = act(client, office.case, "tasks", department="424242", title="Who?")
    assert response.status_code == 400
    response = act(client, office.case, "tasks", department="abc", title="Who?")
    assert response.status_code == 400
    assert len(tasks_of(db, office.case)) == 1


def test_finished_tasks_cannot_be_finished_again(client, db, office, make):
    sign_in(client, office.agent_x)
    extra = Task(request_id=office.case.id, department_id=office.dept_x.id, title="Paint")
    db.add(extra)
    db.flush()
    assert task_act(client, office.case, extra, "complete").status_code == 302
    token = csrf_from(client.get(f"/staff/cases/{office.case.reference}").get_data(as_text=True))
    db.refresh(office.case)
    response = client.post(
        f"/staff/cases/{office.case.reference}/tasks/{extra.id}/complete",
        data={"csrf_token": token, "version": office.case.version},
    )
    assert response.status_code == 400
    assert (
        db.scalar(
            select(Event.id).where(
                Event.request_id == office.case.id, Event.kind == "status_changed"
            )
        )
        is None
    )


def test_a_new_task_is_assigned_as_its_department_chooses(client, db, office):
    office.dept_y.assignment_mode = "round_robin"
    db.flush()
    sign_in(client, office.agent_x)
    assert (
        act(
            client, office.case, "tasks", department=str(office.dept_y.id), title="Check the valve"
        ).status_code
        == 302
    )
    assert tasks_of(db, office.case)[-1].assignee_id == office.agent_y.id
    html = client.get(f"/staff/cases/{office.case.reference}").get_data(as_text=True)
    assert "Check the valve" in html and office.agent_y.name in html
