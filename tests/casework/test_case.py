"""The case page: every case action through HTTP, as an agent of the case's department."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from portal.casework.models import ResponseTemplate, Task
from portal.core.outbox import OutboxMessage
from portal.requests.models import Event, Follower, RequestPhoto, ServiceRequest, Support
from portal.staff.models import StaffMembership
from tests.conftest import csrf_from, sign_in


@dataclass
class Office:
    dept_x: object
    dept_y: object
    agent_x: object
    agent_x2: object
    agent_y: object
    case: ServiceRequest
    task_x: Task


def staff(make, db, department, role="agent", **kw):
    user = make.user(role=role, **kw)
    db.add(StaffMembership(user_id=user.id, department_id=department.id, role=role))
    db.flush()
    return user


@pytest.fixture
def office(make, db) -> Office:
    return make_office(make, db)


def make_office(make, db) -> Office:
    """Streets (X) and Water (Y), two Streets agents and one Water agent, and a Streets case
    with one open Streets task, reported by Rita (contact email)."""
    dept_x = make.department(code="streets", name="Streets")
    dept_y = make.department(code="water", name="Water")
    category = make.category(
        department=dept_x,
        name="Pothole",
        questions=[{"code": "depth", "kind": "text", "prompt": "How deep is it?"}],
    )
    case = make.request(
        category=category,
        contact_name="Rita Resident",
        contact_email="rita@example.org",
        contact_phone="555-0100",
        answers={"depth": "Ankle deep"},
    )
    task = Task(request_id=case.id, department_id=dept_x.id, title="Fix the pothole")
    db.add(task)
    db.flush()
    return Office(
        dept_x,
        dept_y,
        staff(make, db, dept_x, name="Xavier"),
        staff(make, db, dept_x, name="Xena"),
        staff(make, db, dept_y, name="Yusuf"),
        case,
        task,
    )


def hidden(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, name
    return match.group(1)


def act(client, case, action, **data):
    """Open the case page like a browser and post one of its forms."""
    page = client.get(f"/staff/cases/{case.reference}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    form = {
        "csrf_token": csrf_from(html),
        "version": hidden(html, "version"),
        "seen": hidden(html, "seen"),
    }
    form.update(data)
    return client.post(f"/staff/cases/{case.reference}/{action}", data=form)


def outbox_to(db, address):
    return list(db.scalars(select(OutboxMessage).where(OutboxMessage.to_address == address)))


def events(db, case, kind=None):
    query = select(Event).where(Event.request_id == case.id).order_by(Event.id)
    if kind:
        query = query.where(Event.kind == kind)
    return list(db.scalars(query))


# -- the page ---------------------------------------------------------------------------------


def test_case_page_shows_everything_to_staff(client, db, office, make, settings):
    db.add(
        RequestPhoto(
            request_id=office.case.id,
            storage_key="abc123",
            width=4,
            height=3,
            size_bytes=10,
            public=False,
        )
    )
    db.flush()
    sign_in(client, office.agent_x)
    html = client.get(f"/staff/cases/{office.case.reference}").get_data(as_text=True)
    for text in (
        "Pothole",
        "How deep is it?",
        "Ankle deep",
        "100 Main Street",
        "rita@example.org",
        "555-0100",
        "Fix the pothole",
        "Streets",
        "Not public",
    ):
        assert text in html


def test_staff_see_a_private_photo(client, db, office, settings):
    from pathlib import Path

    from portal.requests.photos import photo_path

    Path(settings.upload_dir).mkdir(parents=True, exist_ok=True)
    photo = RequestPhoto(
        request_id=office.case.id,
        storage_key="a" * 32,
        width=1,
        height=1,
        size_bytes=3,
        public=False,
    )
    db.add(photo)
    db.flush()
    path = photo_path(settings, photo.storage_key)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\xff\xd8\xff")
    sign_in(client, office.agent_x)
    url = f"/staff/cases/{office.case.reference}/photos/{photo.id}"
    response = client.get(url)
    assert response.status_code == 200 and response.get_data() == b"\xff\xd8\xff"
    response.close()
    # The public page does not serve it.
    assert client.get(f"/requests/{office.case.reference}/photos/{photo.id}").status_code == 404


def test_other_department_cannot_open_the_case_until_it_has_a_task(client, db, office):
    sign_in(client, office.agent_y)
    assert client.get(f"/staff/cases/{office.case.reference}").status_code == 404
    db.add(Task(request_id=office.case.id, department_id=office.dept_y.id, title="Main"))
    db.flush()
    assert client.get(f"/staff/cases/{office.case.reference}").status_code == 200


def test_unknown_case_is_404(client, office):
    sign_in(client, office.agent_x)
    assert client.get("/staff/cases/SR-2026-999999").status_code == 404


# -- case actions -----------------------------------------------------------------------------


def test_acknowledge_tells_the_resident(client, db, office):
    sign_in(client, office.agent_x)
    response = act(client, office.case, "acknowledge")
    assert response.status_code == 302
    db.refresh(office.case)
    assert office.case.status == "acknowledged"
    event = events(db, office.case, "status_changed")[-1]
    assert event.actor_id == office.agent_x.id and event.data["department_name"] == "Streets"
    assert outbox_to(db, "rita@example.org")
    # Acknowledging twice is refused.
    assert act(client, office.case, "acknowledge").status_code == 400


def test_set_priority_records_before_and_after(client, db, office):
    sign_in(client, office.agent_x)
    assert act(client, office.case, "priority", priority="urgent").status_code == 302
    db.refresh(office.case)
    assert office.case.priority == "urgent"
    note = events(db, office.case, "internal_note")[-1]
    assert note.data["from"] == "normal" and note.data["to"] == "urgent" and not note.public
    assert act(client, office.case, "priority", priority="whenever").status_code == 400


def test_change_status_offers_only_allowed_transitions(client, db, office):
    sign_in(client, office.agent_x)
    html = client.get(f"/staff/cases/{office.case.reference}").get_data(as_text=True)
    options = re.search(r'<select[^>]*name="target".*?</select>', html, re.S).group(0)
    assert 'value="in_progress"' in options and 'value="closed"' not in options
    response = act(client, office.case, "status", target="in_progress", status_note="On it")
    assert response.status_code == 302
    db.refresh(office.case)
    assert office.case.status == "in_progress"


def test_disallowed_transition_is_refused(client, db, office):
    sign_in(client, office.agent_x)
    response = act(client, office.case, "status", target="closed")
    assert response.status_code == 400
    assert "cannot become" in response.get_data(as_text=True)
    assert act(client, office.case, "status", target="teleported").status_code == 400
    assert act(client, office.case, "status", target="duplicate").status_code == 400
    db.refresh(office.case)
    assert office.case.status == "new"


def test_reply_with_a_template_then_send(client, db, office):
    db.add(
        ResponseTemplate(
            department_id=office.dept_x.id,
            title="Thanks",
            body="Hello {resident_name}, {reference} ({category}) is booked.",
        )
    )
    db.add(ResponseTemplate(department_id=office.dept_y.id, title="Water only", body="W"))
    db.flush()
    sign_in(client, office.agent_x)
    html = client.get(f"/staff/cases/{office.case.reference}").get_data(as_text=True)
    assert "Thanks" in html and "Water only" not in html
    template_id = db.scalar(select(ResponseTemplate.id).where(ResponseTemplate.title == "Thanks"))
    response = act(client, office.case, "reply", template=str(template_id), use_template="1")
    assert response.status_code == 200
    expected = f"Hello Rita Resident, {office.case.reference} (Pothole) is booked."
    assert expected in response.get_data(as_text=True)
    assert not events(db, office.case, "comment")
    response = act(client, office.case, "reply", body=expected, send="1")
    assert response.status_code == 302
    comment = events(db, office.case, "comment")[-1]
    assert comment.public and comment.body == expected
    assert any(expected in m.body_text for m in outbox_to(db, "rita@example.org"))
    assert act(client, office.case, "reply", body="  ").status_code == 400


def test_internal_note_is_never_public_nor_emailed(client, db, office):
    sign_in(client, office.agent_x)
    before = len(list(db.scalars(select(OutboxMessage))))
    assert (
        act(client, office.case, "note", note="Secret: the contractor is late").status_code == 302
    )
    note = events(db, office.case, "internal_note")[-1]
    assert not note.public
    assert len(list(db.scalars(select(OutboxMessage)))) == before
    staff_page = client.get(f"/staff/cases/{office.case.reference}").get_data(as_text=True)
    assert "Secret: the contractor is late" in staff_page and "Internal" in staff_page
    public = client.get(f"/requests/{office.case.reference}").get_data(as_text=True)
    assert "contractor" not in public
    assert act(client, office.case, "note", note="").status_code == 400


def test_ask_the_resident_a_question(client, db, office):
    sign_in(client, office.agent_x)
    assert act(client, office.case, "question", question="Which lane?").status_code == 302
    db.refresh(office.case)
    assert office.case.status == "waiting_on_resident"
    assert any("Which lane?" in m.body_text for m in outbox_to(db, "rita@example.org"))


def test_merge_duplicate_moves_supporters_and_followers(client, db, office, make):
    keep = make.request(category=office.case.category, status="in_progress")
    db.add_all(
        [
            Support(request_id=office.case.id, supporter_key="a:1"),
            Support(request_id=office.case.id, supporter_key="a:2"),
            Support(request_id=keep.id, supporter_key="a:2"),
            Follower(
                request_id=office.case.id,
                email="fan@example.org",
                token="t1",
                confirmed_at=keep.created_at,
            ),
            Follower(request_id=office.case.id, email="both@example.org", token="t2"),
            Follower(request_id=keep.id, email="both@example.org", token="t3"),
        ]
    )
    office.case.support_count = 2
    keep.support_count = 1
    db.flush()
    sign_in(client, office.agent_x)
    assert act(client, office.case, "merge", into=office.case.reference).status_code == 400
    response = act(client, office.case, "merge", into=keep.reference)
    assert response.status_code == 302
    db.refresh(office.case)
    db.refresh(keep)
    assert office.case.status == "duplicate" and office.case.duplicate_of_id == keep.id
    assert events(db, office.case, "duplicate")[-1].data["of"] == keep.reference
    assert keep.support_count == 2 and office.case.support_count == 0
    keys = set(db.scalars(select(Support.supporter_key).where(Support.request_id == keep.id)))
    assert keys == {"a:1", "a:2"}
    emails = {
        f.email: f for f in db.scalars(select(Follower).where(Follower.request_id == keep.id))
    }
    assert set(emails) == {"fan@example.org", "both@example.org", "rita@example.org"}
    assert emails["rita@example.org"].confirmed_at is not None
    assert not list(db.scalars(select(Follower).where(Follower.request_id == office.case.id)))
    db.refresh(office.task_x)
    assert not office.task_x.is_open


def test_merge_refuses_closed_or_unknown_targets(client, db, office, make):
    closed = make.request(category=office.case.category, status="closed")
    sign_in(client, office.agent_x)
    assert act(client, office.case, "merge", into=closed.reference).status_code == 400
    assert act(client, office.case, "merge", into="SR-2026-999999").status_code == 400
    assert act(client, office.case, "merge", into="").status_code == 400
    db.refresh(office.case)
    assert office.case.status == "new"


def test_reopen_gives_the_case_a_task_again(client, db, office):
    sign_in(client, office.agent_x)
    assert act(client, office.case, "status", target="rejected").status_code == 302
    db.refresh(office.task_x)
    assert not office.task_x.is_open
    assert act(client, office.case, "reopen", reopen_note="Looking again").status_code == 302
    db.refresh(office.case)
    assert office.case.status == "in_progress"
    open_tasks = list(
        db.scalars(select(Task).where(Task.request_id == office.case.id, Task.is_open.is_(True)))
    )
    assert [t.department_id for t in open_tasks] == [office.dept_x.id]
    assert act(client, office.case, "reopen").status_code == 400  # already open


def test_edit_conflict_shows_what_changed(client, db, office, app):
    sign_in(client, office.agent_x)
    html = client.get(f"/staff/cases/{office.case.reference}").get_data(as_text=True)
    stale = {
        "csrf_token": csrf_from(html),
        "version": hidden(html, "version"),
        "seen": hidden(html, "seen"),
    }
    other = app.test_client()
    sign_in(other, office.agent_x2)
    assert (
        act(
            other, office.case, "status", target="in_progress", status_note="Crew is out"
        ).status_code
        == 302
    )
    response = client.post(
        f"/staff/cases/{office.case.reference}/priority", data={**stale, "priority": "high"}
    )
    assert response.status_code == 409
    text = response.get_data(as_text=True)
    assert "This case changed while you were editing" in text
    assert "Status changed to" in text
    db.refresh(office.case)
    assert office.case.priority == "normal"
    # Without a version at all: also a conflict, nothing saved.
    response = client.post(
        f"/staff/cases/{office.case.reference}/priority",
        data={"csrf_token": stale["csrf_token"], "priority": "high"},
    )
    assert response.status_code == 409


def test_actions_need_csrf(client, db, office):
    sign_in(client, office.agent_x)
    response = client.post(
        f"/staff/cases/{office.case.reference}/note",
        data={"note": "x", "version": office.case.version},
    )
    assert response.status_code == 400
    assert not events(db, office.case, "internal_note")


def test_other_department_cannot_act_on_the_case(client, db, office):
    sign_in(client, office.agent_y)
    token = csrf_from(client.get("/account").get_data(as_text=True))
    response = client.post(
        f"/staff/cases/{office.case.reference}/note", data={"csrf_token": token, "note": "sneaky"}
    )
    assert response.status_code == 404
    assert not events(db, office.case, "internal_note")
