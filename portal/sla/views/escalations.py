"""Supervisors' escalations view, and the SLA display helpers every staff template uses.

``GET /staff/escalations``: the at-risk and breached tasks of the departments the member
supervises (every department for admins), with who used each case's clock.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request, url_for

from portal.access import SUPERVISOR, current_staff, department_choices, staff_required
from portal.core import clock
from portal.i18n import current_locale
from portal.sla.escalations import escalations_page
from portal.sla.views.escalations_forms import EscalationFilterForm
from portal.web import db_session

bp = Blueprint("sla_escalations", __name__, url_prefix="/staff/escalations")


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
    page = escalations_page(
        db_session(),
        department_ids=department_ids,
        now=now,
        state=state,
        after=request.args.get("after"),
        before=request.args.get("before"),
    )
    args = {k: v for k, v in request.args.items() if k not in ("after", "before") and v}
    locale = current_locale()
    return render_template(
        "sla/escalations/escalations.html",
        form=form,
        page=page,
        now=now,
        names={d.id: d.t("name", locale) for d in page.departments.values()},
        next_url=url_for("sla_escalations.index", **args, after=page.next_cursor)
        if page.next_cursor
        else None,
        previous_url=url_for("sla_escalations.index", **args, before=page.previous_cursor)
        if page.previous_cursor
        else None,
        escalation_queue=url_for(
            "casework_queue.department",
            queue="escalation",
            **({"department": department} if department else {}),
        ),
    )
