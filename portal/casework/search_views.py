"""Back office: placeholder until this feature is built."""

from __future__ import annotations

from flask import Blueprint, render_template

from portal.staff.access import staff_required

bp = Blueprint("search", __name__, url_prefix="/staff/search")


@bp.get("/")
@staff_required()
def index():
    return render_template("backoffice/base.html")
