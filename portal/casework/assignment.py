"""The first task of a new case, and who gets it (no Flask here).

A department chooses how a new task reaches an agent (``Department.assignment_mode``):

- ``queue``: the task waits unassigned in the department's queue;
- ``round_robin``: the next active agent after ``Department.last_assignee_id``, in user-id
  order, wrapping around; the cursor moves to them;
- ``least_loaded``: the active agent with the fewest open tasks (in any department), ties to the
  lowest user id.

The department's agents are the active users with a ``StaffMembership`` in it (agents and
supervisors alike). A department without active agents leaves the task in the queue.
"""

from __future__ import annotations

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from portal.auth.models import User
from portal.casework.models import Task
from portal.catalogue.models import Department
from portal.core import clock
from portal.requests.models import ServiceRequest
from portal.staff.models import StaffMembership

#: Round-robin looks at this many agents at most (a department is never this big).
MAX_AGENTS = 1000


def _agents_query(department_id: int):
    return (
        select(User.id)
        .join(StaffMembership, StaffMembership.user_id == User.id)
        .where(StaffMembership.department_id == department_id, User.active.is_(True))
    )


def department_agent_ids(session: Session, department_id: int) -> list[int]:
    """Ids of the department's active agents, in the stable (id) order round-robin uses."""
    return list(session.scalars(_agents_query(department_id).order_by(User.id).limit(MAX_AGENTS)))


def next_round_robin(agent_ids: list[int], last_id: int | None) -> int | None:
    """The agent after ``last_id`` in ``agent_ids`` (sorted), wrapping; the first one when
    ``last_id`` is unset or gone. ``None`` when there are no agents."""
    if not agent_ids:
        return None
    if last_id is not None:
        for agent_id in agent_ids:
            if agent_id > last_id:
                return agent_id
    return agent_ids[0]


def least_loaded_agent(session: Session, department_id: int) -> int | None:
    """The department's active agent with the fewest open tasks (one grouped query)."""
    open_tasks = func.count(Task.id)
    row = session.execute(
        select(User.id, open_tasks)
        .join(StaffMembership, StaffMembership.user_id == User.id)
        .outerjoin(Task, and_(Task.assignee_id == User.id, Task.is_open.is_(True)))
        .where(StaffMembership.department_id == department_id, User.active.is_(True))
        .group_by(User.id)
        .order_by(open_tasks, User.id)
        .limit(1)
    ).first()
    return row[0] if row else None


def pick_assignee(session: Session, department: Department) -> int | None:
    """Who gets a new task of ``department`` (``None``: left in the queue). Round-robin moves
    the department's cursor; on PostgreSQL the department row is locked while it does, so two
    filings at once never hand out the same turn (SQLite writes are serialised already)."""
    mode = department.assignment_mode
    if mode == "least_loaded":
        return least_loaded_agent(session, department.id)
    if mode == "round_robin":
        last_id = session.scalar(
            select(Department.last_assignee_id)
            .where(Department.id == department.id)
            .with_for_update()
        )
        chosen = next_round_robin(department_agent_ids(session, department.id), last_id)
        if chosen is not None:
            department.last_assignee_id = chosen
        return chosen
    return None


def create_first_task(
    session: Session,
    request: ServiceRequest,
    *,
    created_by: User | None = None,
    title: str = "",
) -> Task:
    """The case's first task, in ``request.department_id``, assigned as the department
    chooses. Flushes; the caller commits."""
    department = session.get(Department, request.department_id)
    if department is None:
        raise ValueError(f"unknown department {request.department_id}")
    assignee_id = pick_assignee(session, department)
    now = clock.now()
    task = Task(
        request_id=request.id,
        department_id=department.id,
        assignee_id=assignee_id,
        title=title,
        status="open",
        is_open=True,
        created_by_id=created_by.id if created_by else None,
        created_at=now,
        updated_at=now,
    )
    session.add(task)
    session.flush()
    return task
