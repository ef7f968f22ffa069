"""The filing journey's state between its pages (for ``portal.requests.views.filing``): the
resident's draft, named in the session, and its category; the first earlier step still missing;
the ``Filing`` made from a finished draft, and the step a refused filing goes back to.
"""

from __future__ import annotations

from flask import redirect, session, url_for
from flask_login import current_user

from portal.catalogue.models import ServiceCategory
from portal.i18n import current_locale
from portal.requests import drafts
from portal.requests.models import RequestDraft
from portal.requests.service import Filing, active_category
from portal.web import db_session, settings

DRAFT_KEY = "filing_draft"
STEPS = ("category", "details", "location", "photos", "contact", "check")


def signed_in_user():
    return current_user if current_user.is_authenticated else None


def current_draft(create: bool = False) -> RequestDraft | None:
    draft = drafts.load_draft(db_session(), session.get(DRAFT_KEY))
    if draft is None and create:
        user = signed_in_user()
        token, draft = drafts.new_draft(
            db_session(), settings=settings(), user_id=user.id if user else None
        )
        session[DRAFT_KEY] = token
    return draft


def draft_category(draft: RequestDraft | None) -> ServiceCategory | None:
    if draft is None:
        return None
    return active_category(db_session(), draft.data.get("category"))


def missing_step(draft: RequestDraft | None, *keys: str):
    """Redirect to the first earlier step that is missing, or None when all are there."""
    data = draft.data if draft else {}
    order = [
        ("category", "requests_filing.start"),
        ("description", "requests_filing.details"),
        ("location_done", "requests_filing.location"),
        ("photos_done", "requests_filing.photos"),
        ("contact_done", "requests_filing.contact"),
    ]
    for key, endpoint in order:
        if key in keys and not data.get(key):
            return redirect(url_for(endpoint))
    if draft is not None and "category" in keys and draft_category(draft) is None:
        return redirect(url_for("requests_filing.start"))
    if "description" in keys and data.get("stopped"):
        return redirect(url_for("requests_filing.stop"))
    return None


def filing_from(draft: RequestDraft) -> Filing:
    data = draft.data
    return Filing(
        category_code=data.get("category", ""),
        description=data.get("description", ""),
        answers=data.get("answers", {}),
        address=data.get("address", ""),
        lat=data.get("lat"),
        lon=data.get("lon"),
        area_code=data.get("area"),
        address_point_id=data.get("address_point_id"),
        asset_ref=data.get("asset_ref") or "",
        contact_name=data.get("name", ""),
        contact_email=data.get("email", ""),
        contact_phone=data.get("phone", ""),
        private=bool(data.get("private")),
        locale=current_locale(),
        channel="web",
        photo_ids=[p.id for p in drafts.draft_photos(db_session(), draft)],
    )


def step_for(errors: dict[str, str]) -> str:
    fields = set(errors)
    if "category" in fields:
        return "requests_filing.start"
    if "description" in fields or any(f.startswith("answers.") for f in fields):
        return "requests_filing.details"
    if fields & {"address", "location", "area"}:
        return "requests_filing.location"
    if "asset" in fields:
        return "requests_filing.asset"
    if "photos" in fields:
        return "requests_filing.photos"
    return "requests_filing.contact"
