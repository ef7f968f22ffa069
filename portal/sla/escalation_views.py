"""Supervisors' escalations view, and the SLA display helpers every staff template uses.

``GET /staff/escalations``: the at-risk and breached tasks of the departments the member
supervises (every department for admins), with who used each case's clock.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, render_template, request, url_for
from flask_babel import gettext as _

from portal import clock
from portal.i18n import current_locale
from portal.sla.escalation_forms import EscalationFilterForm
from portal.sla.escalations import escalations_page
from portal.sla.status import (
    KIND_NAMES,
    STATE_CLASSES,
    STATE_NAMES,
    SlaState,
    case_state,
    clock_state,
    format_duration,
    task_state,
)
from portal.staff.access import SUPERVISOR, current_staff, department_choices, staff_required
from portal.web import db_session

bp = Blueprint("escalations", __name__, url_prefix="/staff/escalations")


# -- SLA display helpers (template globals, used by the queues, the case page and here) -------

@bp.app_template_global("sla_task")
def _sla_task(task: Any, now: datetime) -> SlaState:
    return task_state(task, now)


@bp.app_template_global("sla_clock")
def _sla_clock(sla_clock: Any, now: datetime) -> SlaState:
    return clock_state(sla_clock, now)


@bp.app_template_global("sla_case_state")
def _sla_case_state(request: Any) -> SlaState:
    return case_state(request, clock.now())


@bp.app_template_global("sla_name")
def _sla_name(code: str) -> str:
    return _(STATE_NAMES[code]) if code in STATE_NAMES else code


@bp.app_template_global("sla_class")
def _sla_class(code: str) -> str:
    return STATE_CLASSES.get(code, "bg-base-dark")


@bp.app_template_global("sla_kind")
def _sla_kind(kind: str) -> str:
    return _(KIND_NAMES[kind]) if kind in KIND_NAMES else kind


@bp.app_template_global("sla_duration")
def _sla_duration(seconds: float) -> str:
    return format_duration(seconds, current_locale())


# -- the page ---------------------------------------------------------------------------------

@bp.get("/")
@staff_required(SUPERVISOR)
def index() -> Any:
    access = current_staff()
    form = EscalationFilterForm(formdata=request.args)
    form.set_choices(departments=department_choices(supervised=True))
    department, state = form.clean()
    if department is not None:
        department_ids: list[int] | None = [department]
    else:
        department_ids = None if access.is_admin else access.supervised_department_ids
    now = clock.now()
    page = escalations_page(db_session(), department_ids=department_ids, now=now, state=state,
                            after=request.args.get("after"), before=request.args.get("before"))
    args = {k: v for k, v in request.args.items() if k not in ("after", "before") and v}
    locale = current_locale()
    return render_template(
        "sla/escalations.html",
        form=form,
        page=page,
        now=now,
        names={d.id: d.t("name", locale) for d in page.departments.values()},
        next_url=url_for("escalations.index", **args, after=page.next_cursor)
        if page.next_cursor else None,
        previous_url=url_for("escalations.index", **args, before=page.previous_cursor)
        if page.previous_cursor else None,
        escalation_queue=url_for("casework.department", queue="escalation",
                                 **({"department": department} if department else {})),
    )
