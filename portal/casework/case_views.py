"""Back office: placeholder until this feature is built."""

from __future__ import annotations

from flask import Blueprint, abort, render_template
from sqlalchemy import select

from portal.requests.models import ServiceRequest
from portal.staff.access import require_department, staff_required
from portal.web import db_session

bp = Blueprint("case", __name__, url_prefix="/staff/cases")


@bp.get("/<reference>")
@staff_required()
def show(reference: str):
    case = db_session().scalar(select(ServiceRequest).where(ServiceRequest.reference == reference))
    if case is None:
        abort(404)
    require_department(case.department_id)
    return render_template("backoffice/base.html")
