"""The home page and static information pages."""

from __future__ import annotations

from flask import Blueprint, Response, abort, render_template
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portal.catalogue.models import ServiceCategory, ServiceGroup
from portal.city.models import PROFILE_ID, CityProfile
from portal.web import db_session

bp = Blueprint("pages", __name__)


@bp.get("/")
def home():
    groups = (
        db_session()
        .scalars(
            select(ServiceGroup)
            .order_by(ServiceGroup.position, ServiceGroup.id)
            .options(selectinload(ServiceGroup.categories))
        )
        .all()
    )
    return render_template("pages/home.html", groups=groups)


@bp.get("/city/logo")
def logo():
    """The city's logo from its configuration (the URL carries its version: cached a year)."""
    profile = db_session().get(CityProfile, PROFILE_ID)
    if profile is None or not profile.logo or not profile.logo_type:
        abort(404)
    response = Response(profile.logo, mimetype=profile.logo_type)
    response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    # An SVG opened on its own is a document: it may not run anything.
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return response


@bp.get("/accessibility")
def accessibility():
    return render_template("pages/accessibility.html")


__all__ = ["bp", "ServiceCategory"]
