"""Staff queues: which tasks (or cases) each tab lists, filtered, sorted and keyset-paginated.

No Flask here. Each tab is one query; a page is ``per_page`` rows after (or before) a cursor
that holds the sort key and the row id, so a deep page costs the same as the first (never
OFFSET). Rows are tasks (one department's piece of a case) except in "everything", where they
are cases.

Indexes the views rely on (by age, oldest first; "newest" reads the same indexes backwards):
- my work:      ix_tasks_assignee_open_created   (assignee_id = me, is_open, created_at, id)
- department:   ix_tasks_department_open_created (department_id = d, is_open, created_at, id)
- unassigned:   the assignee index with assignee_id IS NULL, rows of other departments
                skipped (or the department index, as the planner prefers);
- waiting:      the department index, each row's case checked by primary key;
- resolved:     ix_service_requests_updated (cases updated in the last 14 days), then
                ix_tasks_request_id, sorted in memory (a few percent of the cases);
- everything:   ix_service_requests_status_created when a status is chosen.
- due time:     ix_tasks_assignee_open_due / ix_tasks_department_open_due: the tasks with a due
                time in (due_at, id) order, then those without one (paused, no policy) by id;
                two index range scans, never a sort of the whole queue.
Sorting by priority, and "everything" without a status, sort in the database without an index
(see the report in benchmarks/queues.py).

SLA filters read only the task's own columns (``due_at``, ``at_risk_at``, ``sla_stage``,
``queue``), kept up to date by the SLA clocks (portal.sla).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    case,
    exists,
    false,
    func,
    literal,
    or_,
    select,
    true,
)
from sqlalchemy.orm import Session, contains_eager, selectinload
from sqlalchemy.orm.exc import StaleDataError

from portal.casework.models import Task
from portal.core.db import UTCDateTime
from portal.core.keyset import FAR_FUTURE, decode_cursor, encode_cursor, keyset, nulls_last_keyset
from portal.requests.models import (
    CHANNELS,
    PRIORITIES,
    STATUSES,
    InvalidTransition,
    ServiceRequest,
)

VIEWS = ("mine", "department", "unassigned", "waiting", "resolved", "all")
SORTS = ("due", "newest", "age", "priority")
#: Each tab's sort when none is asked for: open work by due time (the most overdue first,
#: tasks without a due time last), what was resolved lately and every case newest first.
DEFAULT_SORTS = {
    "mine": "due",
    "department": "due",
    "unassigned": "due",
    "waiting": "due",
    "resolved": "newest",
    "all": "newest",
}
#: SLA states a queue can be narrowed to (open tasks only; see ``_sla_condition``).
SLA_FILTERS = ("on_time", "at_risk", "breached", "paused")
TASK_QUEUES = ("main", "escalation")
PAGE_SIZE = 50
RESOLVED_WINDOW = timedelta(days=14)
MAX_AGE_DAYS = 3650

PRIORITY_RANK = {"urgent": 0, "high": 1, "normal": 2, "low": 3}

#: Marks a higher feature puts on cases, each a queue filter (``Filters.mark``): its name and
#: a condition on ServiceRequest. Registered by the feature's reactions module (casework cannot
#: import it): "possible_duplicates" by portal.assist (cases with an undecided candidate).
CASE_MARKS: dict[str, Callable[[], ColumnElement[bool]]] = {}


def register_mark(name: str, condition: Callable[[], ColumnElement[bool]]) -> None:
    CASE_MARKS[name] = condition


@dataclass(frozen=True)
class Filters:
    """Optional narrowing of a tab. Values are already validated (see ``queue_forms``)."""

    status: str | None = None
    category_id: int | None = None
    area_id: int | None = None
    priority: str | None = None
    older_than_days: int | None = None
    channel: str | None = None
    #: An agent's user id, or "none" for tasks nobody holds.
    assignee: int | Literal["none"] | None = None
    #: One of ``SLA_FILTERS``.
    sla: str | None = None
    #: "escalation" for the tasks a breach moved to the escalation queue ("main": the others).
    queue: str | None = None
    #: One of ``CASE_MARKS`` (e.g. "possible_duplicates").
    mark: str | None = None

    def __post_init__(self) -> None:
        if self.status is not None and self.status not in STATUSES:
            raise ValueError(f"unknown status {self.status!r}")
        if self.priority is not None and self.priority not in PRIORITIES:
            raise ValueError(f"unknown priority {self.priority!r}")
        if self.channel is not None and self.channel not in CHANNELS:
            raise ValueError(f"unknown channel {self.channel!r}")
        if self.older_than_days is not None and not 0 <= self.older_than_days <= MAX_AGE_DAYS:
            raise ValueError("age out of range")
        if self.sla is not None and self.sla not in SLA_FILTERS:
            raise ValueError(f"unknown SLA state {self.sla!r}")
        if self.queue is not None and self.queue not in TASK_QUEUES:
            raise ValueError(f"unknown task queue {self.queue!r}")
        if self.mark is not None and self.mark not in CASE_MARKS:
            raise ValueError(f"unknown mark {self.mark!r}")


@dataclass(frozen=True)
class Row:
    request: ServiceRequest
    task: Task | None  # None in "everything", where rows are cases


@dataclass(frozen=True)
class QueuePage:
    rows: list[Row]
    next_cursor: str | None
    previous_cursor: str | None


@dataclass(frozen=True)
class _Key:
    expr: ColumnElement[Any]
    kind: Literal["dt", "int"]


def priority_rank(column: Any) -> ColumnElement[int]:
    return case(
        *((column == name, rank) for name, rank in PRIORITY_RANK.items()),
        else_=PRIORITY_RANK["normal"],
    )


def _sort_keys(view: str, sort: str) -> list[_Key]:
    if view == "all":
        created, ident, priority = (
            ServiceRequest.created_at,
            ServiceRequest.id,
            ServiceRequest.priority,
        )
    else:
        created, ident, priority = Task.created_at, Task.id, ServiceRequest.priority
    # The keys are the attributes' column expressions (what the attributes render as).
    # "newest" has the keys of "age", read in descending order (see ``queue_page``).
    if sort == "priority":
        return [
            _Key(priority_rank(priority), "int"),
            _Key(created.expression, "dt"),
            _Key(ident.expression, "int"),
        ]
    if sort == "due" and view != "all":
        due = func.coalesce(Task.due_at, literal(FAR_FUTURE, UTCDateTime()))
        return [_Key(due, "dt"), _Key(ident.expression, "int")]
    return [_Key(created.expression, "dt"), _Key(ident.expression, "int")]


# -- queries --------------------------------------------------------------------------------


def _in_departments(column: Any, department_ids: Sequence[int] | None) -> ColumnElement[bool]:
    if department_ids is None:
        return true()
    if len(department_ids) == 1:
        return column == department_ids[0]
    return column.in_(list(department_ids))


def base_query(
    *,
    view: str,
    user_id: int,
    department_ids: Sequence[int] | None,
    filters: Filters,
    now: datetime,
) -> Select[Any]:
    """The rows of ``view`` (unsorted, unpaginated) for a member working in
    ``department_ids`` (None: every department, for admins)."""
    if view not in VIEWS:
        raise ValueError(f"unknown view {view!r}")
    query: Select[Any]
    if view == "all":
        query = select(ServiceRequest)
        created = ServiceRequest.created_at
        if department_ids is not None:
            query = query.where(_in_departments(ServiceRequest.department_id, department_ids))
    else:
        query = select(Task).join(ServiceRequest, Task.request_id == ServiceRequest.id)
        created = Task.created_at
        open_task = Task.is_open == true()
        if view == "mine":
            query = query.where(Task.assignee_id == user_id, open_task)
        elif view == "department" or view == "unassigned":
            query = query.where(_in_departments(Task.department_id, department_ids), open_task)
            if view == "unassigned":
                query = query.where(Task.assignee_id.is_(None))
        elif view == "waiting":
            query = query.where(
                _in_departments(Task.department_id, department_ids),
                open_task,
                ServiceRequest.status == "waiting_on_resident",
            )
        else:  # resolved
            cutoff = now - RESOLVED_WINDOW
            # Finishing a task writes to its case's timeline, which touches the case's
            # updated_at: the redundant condition lets the planner start from the few cases
            # updated lately (ix_service_requests_updated) instead of every closed task.
            # ("+ 0" keeps the planner off the department index, whose closed part holds
            # every task the department ever finished.)
            query = query.where(
                _in_departments(Task.department_id + 0, department_ids),
                Task.is_open == false(),
                Task.status == "done",
                Task.closed_at >= cutoff,
                ServiceRequest.updated_at >= cutoff,
            )
    return _filtered(query, view=view, created=created, filters=filters, now=now)


def _filtered(
    query: Select[Any], *, view: str, created: Any, filters: Filters, now: datetime
) -> Select[Any]:
    conditions: list[ColumnElement[bool]] = []
    if filters.status:
        conditions.append(ServiceRequest.status == filters.status)
    if filters.category_id is not None:
        conditions.append(ServiceRequest.category_id == filters.category_id)
    if filters.area_id is not None:
        conditions.append(ServiceRequest.area_id == filters.area_id)
    if filters.priority:
        conditions.append(ServiceRequest.priority == filters.priority)
    if filters.channel:
        conditions.append(ServiceRequest.channel == filters.channel)
    if filters.older_than_days:
        conditions.append(created <= now - timedelta(days=filters.older_than_days))
    if filters.mark:
        conditions.append(CASE_MARKS[filters.mark]())
    task_conditions: list[ColumnElement[bool]] = []
    if filters.assignee is not None:
        task_conditions.append(
            Task.assignee_id.is_(None)
            if filters.assignee == "none"
            else Task.assignee_id == filters.assignee
        )
    if filters.sla:
        task_conditions.append(_sla_condition(filters.sla, now))
    if filters.queue:
        task_conditions.append(Task.queue == filters.queue)
    if task_conditions and view == "all":
        # Cases: one of the case's open tasks matches every task condition.
        conditions.append(
            exists().where(
                Task.request_id == ServiceRequest.id, Task.is_open == true(), *task_conditions
            )
        )
    else:
        conditions.extend(task_conditions)
    return query.where(and_(true(), *conditions)) if conditions else query


def _sla_condition(state: str, now: datetime) -> ColumnElement[bool]:
    """Open tasks in SLA ``state`` (one of ``SLA_FILTERS``), from the task's columns as
    ``portal.sla.status.task_state`` reads them: breached once due (running, or paused after
    the breach), at risk from ``at_risk_at`` until due, on time before that; paused while the
    task's clock is paused and not already late. Tasks without a clock match none."""
    running = Task.sla_stage == "running"
    if state == "breached":
        condition = and_(Task.sla_stage.in_(("running", "paused")), Task.due_at < now)
    elif state == "at_risk":
        condition = and_(running, Task.at_risk_at <= now, Task.due_at >= now)
    elif state == "on_time":
        condition = and_(
            running, Task.due_at >= now, or_(Task.at_risk_at.is_(None), Task.at_risk_at > now)
        )
    elif state == "paused":
        condition = and_(Task.sla_stage == "paused", or_(Task.due_at.is_(None), Task.due_at >= now))
    else:
        raise ValueError(f"unknown SLA state {state!r}")
    return and_(Task.is_open == true(), condition)


def queue_page(
    session: Session,
    *,
    view: str,
    user_id: int,
    department_ids: Sequence[int] | None,
    filters: Filters | None = None,
    sort: str | None = None,
    after: str | None = None,
    before: str | None = None,
    now: datetime,
    per_page: int = PAGE_SIZE,
) -> QueuePage:
    """One page of ``view`` in ``sort`` order (the tab's ``DEFAULT_SORTS`` when None or not
    understood): rows after the ``after`` cursor ("Next"), or the page before the ``before``
    cursor ("Previous"), or the first page. Bad cursors give the first page."""
    if sort not in SORTS:
        sort = DEFAULT_SORTS.get(view, "age")
    keys = _sort_keys(view, sort)
    query = base_query(
        view=view,
        user_id=user_id,
        department_ids=department_ids,
        filters=filters or Filters(),
        now=now,
    )
    query = _with_loading(query, view)
    kinds = [k.kind for k in keys]
    start = decode_cursor(after, sort, kinds)
    end = decode_cursor(before, sort, kinds) if start is None else None
    if sort == "due" and view != "all":
        results, more_before, more_after = nulls_last_keyset(
            session,
            query,
            column=Task.due_at,
            ident=Task.id,
            after=start,
            before=end,
            per_page=per_page,
        )
    else:
        results, more_before, more_after = keyset(
            session,
            query,
            [k.expr for k in keys],
            after=start,
            before=end,
            per_page=per_page,
            descending=sort == "newest",
        )
    if not results:
        return QueuePage(rows=[], next_cursor=None, previous_cursor=None)
    rows = [
        Row(request=r[0], task=None) if view == "all" else Row(request=r[0].request, task=r[0])
        for r in results
    ]
    n = len(keys)
    return QueuePage(
        rows=rows,
        next_cursor=encode_cursor(sort, results[-1][-n:]) if more_after else None,
        previous_cursor=encode_cursor(sort, results[0][-n:]) if more_before else None,
    )


def _with_loading(query: Select[Any], view: str) -> Select[Any]:
    if view == "all":
        return query.options(
            selectinload(ServiceRequest.category), selectinload(ServiceRequest.area)
        )
    return query.options(
        contains_eager(Task.request).selectinload(ServiceRequest.category),
        contains_eager(Task.request).selectinload(ServiceRequest.area),
        selectinload(Task.assignee),
        selectinload(Task.department),
    )


def bounded_count(
    session: Session,
    *,
    view: str,
    user_id: int,
    department_ids: Sequence[int] | None,
    now: datetime,
    limit: int = PAGE_SIZE,
) -> int:
    """How many rows ``view`` has, counting at most ``limit + 1`` (show "50+" beyond)."""
    query = base_query(
        view=view, user_id=user_id, department_ids=department_ids, filters=Filters(), now=now
    )
    ident = ServiceRequest.id if view == "all" else Task.id
    inner = query.with_only_columns(ident).limit(limit + 1).subquery()
    return session.scalar(select(func.count()).select_from(inner)) or 0


# -- bulk actions ---------------------------------------------------------------------------

BULK_ACTIONS = ("assign", "priority", "status", "duplicate")
MAX_BULK = 200


def tasks_for_bulk(
    session: Session, *, task_ids: Sequence[int], can_work: Callable[[int], bool]
) -> list[Task] | None:
    """The selected tasks (row-locked on PostgreSQL), or None when any of them does not
    exist or belongs to a department the member does not work in (the batch is refused)."""
    wanted = sorted(set(task_ids))
    if not wanted or len(wanted) > MAX_BULK:
        return None
    tasks = list(
        session.scalars(
            select(Task)
            .where(Task.id.in_(wanted))
            .order_by(Task.id)
            .options(selectinload(Task.request), selectinload(Task.department))
            .with_for_update(of=Task)
        )
    )
    if len(tasks) != len(wanted) or not all(can_work(t.department_id) for t in tasks):
        return None
    return tasks


def member_may_open(
    session: Session, *, request: ServiceRequest, can_work: Callable[[int], bool]
) -> bool:
    """Whether the member works in the case's department or in one of its tasks'."""
    if can_work(request.department_id):
        return True
    departments = session.scalars(
        select(Task.department_id).where(Task.request_id == request.id).distinct()
    )
    return any(can_work(d) for d in departments)


def run_bulk(
    session: Session,
    *,
    settings: Any,
    actor: Any,
    tasks: Sequence[Task],
    action: str,
    assignee: Any = None,
    priority: str | None = None,
    status: str | None = None,
    note: str = "",
    into: ServiceRequest | None = None,
) -> int:
    """Apply one action to every selected task (or its case, once per case) and return how
    many tasks or cases it touched. Raises ``BulkFailed`` naming the case that refused
    (wrapping ``CaseError``, ``InvalidTransition``, ``StaleCase``, ``UpdateError``); the
    caller rolls the whole batch back."""
    from portal.casework import merging, service
    from portal.casework import tasks as task_actions

    if action not in BULK_ACTIONS or (action == "duplicate" and into is None):
        raise ValueError(f"unknown bulk action {action!r}")
    if action == "assign":
        for task in tasks:
            with _blame(task.request, service.StaleCase):
                task_actions.assign_task(
                    session, task=task, assignee=assignee, actor=actor, settings=settings
                )
        return len(tasks)
    cases: dict[int, ServiceRequest] = {}
    for task in tasks:
        cases.setdefault(task.request_id, task.request)
    for request in cases.values():
        with _blame(request, service.StaleCase):
            if action == "priority":
                service.set_priority(
                    session,
                    request=request,
                    priority=priority or "",
                    actor=actor,
                    version=request.version,
                )
            elif action == "status":
                service.change_case_status(
                    session,
                    settings=settings,
                    request=request,
                    target=status or "",
                    actor=actor,
                    note=note,
                    version=request.version,
                )
            else:
                assert into is not None  # checked above for "duplicate"
                merging.merge_duplicate(
                    session, settings=settings, request=request, into=into, actor=actor
                )
    return len(cases)


class BulkFailed(Exception):
    """One case of a batch refused the action; ``error`` is the service's exception."""

    def __init__(self, request: ServiceRequest, error: Exception) -> None:
        super().__init__(f"{request.reference}: {error}")
        self.request = request
        self.error = error


@contextmanager
def _blame(request: ServiceRequest, stale: type[Exception]) -> Iterator[None]:
    try:
        yield
    except (ValueError, InvalidTransition, StaleDataError, stale) as exc:
        raise BulkFailed(request, exc) from exc
