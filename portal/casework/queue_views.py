"""Back office: placeholder until this feature is built."""

from __future__ import annotations

from flask import Blueprint, render_template

from portal.staff.access import staff_required

bp = Blueprint("casework", __name__, url_prefix="/staff")


@bp.get("/")
@staff_required()
def queue():
    return render_template("backoffice/base.html")
