"""The home page and static information pages."""

from __future__ import annotations

from flask import Blueprint, render_template
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portal.catalogue.models import ServiceCategory, ServiceGroup
from portal.web import db_session

bp = Blueprint("pages", __name__)


@bp.get("/")
def home():
    groups = db_session().scalars(
        select(ServiceGroup)
        .order_by(ServiceGroup.position, ServiceGroup.id)
        .options(selectinload(ServiceGroup.categories))
    ).all()
    return render_template("pages/home.html", groups=groups)


@bp.get("/accessibility")
def accessibility():
    return render_template("pages/accessibility.html")


__all__ = ["bp", "ServiceCategory"]
