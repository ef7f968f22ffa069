"""Back office: placeholder until this feature is built."""

from __future__ import annotations

from flask import Blueprint, render_template

from portal.staff.access import ADMIN, staff_required

bp = Blueprint("staff_admin", __name__, url_prefix="/staff/admin/staff")


@bp.get("/")
@staff_required(ADMIN)
def members():
    return render_template("backoffice/base.html")
