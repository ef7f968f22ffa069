"""The staff resident page (``/staff/residents/<key>``): everything the city knows about one
person, and the case page's "Related" panel (``related_panel``), which links to it.

The key is signed (``itsdangerous``, salted for this page): an account's id, or for a resident
without an account the id of one of their requests (the person is its contact address). It
holds no email address and cannot be guessed or walked; a forged, unknown or forbidden key is a
404, the same answer.

Who may open it: admins, and casework staff (agents, supervisors) when at least one of the
person's requests is a case they may open (its department or one of its tasks'). Coordinators
and residents are refused (403), like every casework page. What the page lists is limited the
same way: requests and follows to the cases the member may open, emails to those that landed on
such a case, survey answers by the surveys' staff-anonymity rule (``portal.privacy.residents``).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, URLSafeSerializer

from portal.access import current_staff, staff_required
from portal.auth.models import User
from portal.casework import related
from portal.core import clock
from portal.i18n import current_locale
from portal.privacy import residents
from portal.requests.models import CLOSED_STATUSES, ServiceRequest
from portal.surveys.answering import answer_rows
from portal.surveys.schema import localized
from portal.web import db_session

bp = Blueprint("staff_residents", __name__, url_prefix="/staff/residents")

_SALT = "staff.resident"
MAX_KEY = 200

ENROLMENT_STATES = {
    "applied": _l("Applied"),
    "enrolled": _l("Enrolled"),
    "waitlisted": _l("Waitlisted"),
    "offered": _l("Offered a place"),
    "cancelled": _l("Cancelled"),
    "rejected": _l("Rejected"),
}


# -- keys ------------------------------------------------------------------------------------


def signed_key(secret: str, kind: str, ident: int) -> str:
    """A page key: ``kind`` "u" (an account's id) or "r" (a request whose reporter is meant)."""
    return str(URLSafeSerializer(secret, salt=_SALT).dumps([kind, ident]))


def _signer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.secret_key or "", salt=_SALT)


def key_for(person: related.Person, sr: ServiceRequest | None = None) -> str | None:
    """The page's key for ``person`` (an account), or for the reporter of ``sr`` (an address)."""
    secret = current_app.secret_key or ""
    if person.user_id is not None:
        return signed_key(secret, "u", person.user_id)
    if person.email and sr is not None:
        return signed_key(secret, "r", sr.id)
    return None


def _person(key: str) -> tuple[related.Person, User | None, ServiceRequest | None]:
    """The person a key names (404 when forged or unknown)."""
    if len(key) > MAX_KEY:
        abort(404)
    try:
        kind, ident = _signer().loads(key)
    except (BadSignature, TypeError, ValueError):
        abort(404)
    if not isinstance(ident, int) or isinstance(ident, bool) or not 0 < ident < 2**62:
        abort(404)
    db = db_session()
    if kind == "u":
        user = db.get(User, ident)
        if user is None:
            abort(404)
        return related.person_of_user(user), user, None
    if kind == "r":
        sr = db.get(ServiceRequest, ident)
        if sr is None:
            abort(404)
        person = related.person_of_request(sr)
        if person.user_id is None and person.email:
            account = related.account_for(db, person.email)
            if account is not None:
                return related.person_of_user(account), account, None
        return person, sr.reporter, sr
    abort(404)


# -- the page --------------------------------------------------------------------------------


def _answers(found: list[residents.SurveyAnswer]) -> list[dict[str, Any]]:
    locale = current_locale()
    yes_no = {"yes": str(_l("Yes")), "no": str(_l("No"))}
    return [
        {
            "title": localized(a.definition.title, locale),
            "response": a.response,
            "reference": a.reference,
            "rows": answer_rows(a.definition, a.response.answers or {}, locale, yes_no),
        }
        for a in found
    ]


@bp.get("/<key>")
@staff_required()
def show(key: str):
    person, user, sr = _person(key)
    db = db_session()
    access = current_staff()
    if not related.may_see_person(db, person, access):
        abort(404)
    canonical = key_for(person, sr)
    if canonical is not None and canonical != key:
        return redirect(url_for(".show", key=canonical, **request.args), 301)
    page = related.requests_of(
        db,
        person,
        access=access,
        after=request.args.get("after"),
        before=request.args.get("before"),
    )
    newest = page.rows[0] if page.rows else None
    return render_template(
        "staff/residents/show.html",
        key=key,
        person=person,
        user=user,
        name=(user.name if user else "") or (newest.contact_name if newest else ""),
        page=page,
        next_url=url_for(".show", key=key, after=page.next_cursor) if page.next_cursor else None,
        previous_url=url_for(".show", key=key, before=page.previous_cursor)
        if page.previous_cursor
        else None,
        follows=residents.follows(db, person, access=access),
        enrolments=residents.enrolments(db, person, now=clock.now()),
        enrolment_states=ENROLMENT_STATES,
        answers=_answers(residents.survey_answers(db, person, access=access)),
        emails=residents.emails(db, person, access=access),
        may_manage_programmes=access.is_admin or access.is_coordinator,
    )


# -- the case page's panel -------------------------------------------------------------------


def mergeable(sr: ServiceRequest, other: ServiceRequest) -> bool:
    """Whether the case page can merge ``sr`` into ``other`` (the checks of
    ``merging.merge_duplicate``, so the button is shown only where it works)."""
    return (
        sr.is_open
        and sr.can_move_to("duplicate")
        and other.id != sr.id
        and other.status not in CLOSED_STATUSES
        and other.duplicate_of_id is None
    )


def related_panel(sr: ServiceRequest, *, nearby: list[tuple[ServiceRequest, float]]) -> Any:
    """The case page's "Related" panel (``templates/casework/case/_related.html``)."""
    db = db_session()
    access = current_staff()
    found = related.related_to_case(db, sr, access=access, now=clock.now(), nearby=nearby)
    person = found.person
    return {
        "found": found,
        "key": key_for(person, sr),
        "enrolments": residents.enrolments(
            db, person, now=clock.now(), limit=related.LIMIT, attendance=False
        ),
        "enrolment_states": ENROLMENT_STATES,
        "answers": _answers(
            [
                a
                for a in residents.survey_answers(db, person, access=access, limit=related.LIMIT)
                if a.response.request_id != sr.id  # the case's own survey has its section
            ]
        ),
        "mergeable": lambda other: mergeable(sr, other),
    }
