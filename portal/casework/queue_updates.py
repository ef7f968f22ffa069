"""What arrived in a queue since the member's page was drawn: the count behind "3 new cases —
show", polled by the page (see portal/casework/views/queue_updates.py). No Flask here.

The count is the rows of the tab and filter the page shows that were created after the
page's moment (``since``), read from the same indexes as the "newest" sort (a range of the
``created_at`` columns), counting at most ``NEW_CAP + 1`` rows so a flood costs no more than a
page. New means created: a task assigned to the member after it was created, or one that
reached the filter's state later (at risk, breached), shows on the next page load instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.casework.models import Task
from portal.casework.queues import Filters, base_query
from portal.requests.models import ServiceRequest

#: Tabs where new work arrives ("resolved" lists finished work).
POLLED_VIEWS = ("mine", "department", "unassigned", "waiting", "all")
NEW_CAP = 99
#: ``since`` in the poll's query string: the page's moment in UTC digits.
SINCE_FORMAT = "%Y%m%d%H%M%S%f"


def new_since(
    session: Session,
    *,
    view: str,
    user_id: int,
    department_ids: Sequence[int] | None,
    filters: Filters,
    since: datetime,
    now: datetime,
    cap: int = NEW_CAP,
) -> int:
    """How many rows of ``view`` (as ``base_query`` scopes and filters them) were created
    after ``since``: at most ``cap + 1`` (show "99+" beyond). 0 for tabs not polled."""
    if view not in POLLED_VIEWS:
        return 0
    query = base_query(
        view=view, user_id=user_id, department_ids=department_ids, filters=filters, now=now
    )
    created, ident = (
        (ServiceRequest.created_at, ServiceRequest.id)
        if view == "all"
        else (Task.created_at, Task.id)
    )
    inner = query.where(created > since).with_only_columns(ident).limit(cap + 1).subquery()
    return session.scalar(select(func.count()).select_from(inner)) or 0
