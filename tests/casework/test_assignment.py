"""The first task of a new case and who gets it: queue, round-robin, least-loaded."""

from __future__ import annotations

from sqlalchemy import select

from portal.casework.assignment import create_first_task, next_round_robin
from portal.casework.models import Task
from portal.requests.models import Event
from portal.requests.service import Filing, submit_request
from portal.staff.models import StaffMembership


def _agents(db, make, department, count: int, role: str = "agent"):
    users = [make.user(role=role, name=f"Agent {i}") for i in range(count)]
    for user in users:
        db.add(StaffMembership(user_id=user.id, department_id=department.id, role=role))
    db.flush()
    return users


def _file(db, settings, category, description: str = "A hole"):
    filing = Filing(category_code=category.code, description=description, address="1 Main Street")
    return submit_request(db, settings=settings, filing=filing).request


def _task(db, request) -> Task:
    return db.scalar(select(Task).where(Task.request_id == request.id))


def test_next_round_robin_wraps_and_survives_a_departed_agent():
    assert next_round_robin([], None) is None
    assert next_round_robin([3, 5, 9], None) == 3
    assert next_round_robin([3, 5, 9], 3) == 5
    assert next_round_robin([3, 5, 9], 9) == 3
    assert next_round_robin([3, 5, 9], 4) == 5  # agent 4 left: the next one after them


def test_queue_mode_leaves_the_task_unassigned(db, make, settings):
    department = make.department(assignment_mode="queue")
    _agents(db, make, department, 2)
    filed = _file(db, settings, make.category(department=department))
    task = _task(db, filed)
    assert task.department_id == department.id and task.assignee_id is None
    routed = db.scalar(select(Event).where(Event.request_id == filed.id, Event.kind == "routed"))
    assert "assignee_id" not in routed.data


def test_round_robin_cycles_through_agents_and_skips_deactivated_ones(db, make, settings):
    department = make.department(assignment_mode="round_robin")
    first, second, third = _agents(db, make, department, 3)
    outsider = make.user(role="agent")  # works elsewhere
    db.add(StaffMembership(user_id=outsider.id, department_id=make.department().id))
    category = make.category(department=department)
    got = [_task(db, _file(db, settings, category)).assignee_id for _ in range(4)]
    assert got == [first.id, second.id, third.id, first.id]
    assert department.last_assignee_id == first.id

    second.active = False
    db.flush()
    got = [_task(db, _file(db, settings, category)).assignee_id for _ in range(3)]
    assert got == [third.id, first.id, third.id]

    filed = _file(db, settings, category)
    routed = db.scalar(select(Event).where(Event.request_id == filed.id, Event.kind == "routed"))
    assert routed.public is False
    assert routed.data["assignee_id"] == _task(db, filed).assignee_id
    assert routed.data["assignee_name"] == "Agent 0"


def test_least_loaded_picks_the_agent_with_fewest_open_tasks(db, make, settings):
    department = make.department(assignment_mode="least_loaded")
    busy, idle, gone = _agents(db, make, department, 3)
    gone.active = False
    category = make.category(department=department)
    for _ in range(2):
        request = make.request(category=category)
        db.add(Task(request_id=request.id, department_id=department.id, assignee_id=busy.id))
    closed = make.request(category=category)
    db.add(
        Task(
            request_id=closed.id,
            department_id=department.id,
            assignee_id=idle.id,
            status="done",
            is_open=False,
        )
    )
    db.flush()
    assert _task(db, _file(db, settings, category)).assignee_id == idle.id
    assert _task(db, _file(db, settings, category)).assignee_id == idle.id  # 1 vs 2
    # 2 vs 2: ties go to the lower id
    assert _task(db, _file(db, settings, category)).assignee_id == min(busy.id, idle.id)


def test_a_department_without_agents_keeps_the_task_in_its_queue(db, make):
    department = make.department(assignment_mode="round_robin")
    request = make.request(category=make.category(department=department))
    task = create_first_task(db, request)
    assert task.assignee_id is None and task.is_open
    assert department.last_assignee_id is None
