"""Staff intake: file a request for a caller or a walk-in, with the channel recorded.

One page: choosing a category and pressing "Show questions" redraws the form with that
category's questions (works without JavaScript); "File the request" calls the same
``submit_request`` residents and the API use, with ``actor_kind="staff"``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from portal.access import current_staff, staff_required
from portal.areas.models import Area
from portal.casework.queues import member_may_open
from portal.casework.views.intake_forms import CHANNEL_LABELS, IntakeForm
from portal.catalogue.models import ServiceCategory
from portal.form_messages import answer_message, contact_message, location_message
from portal.i18n import LANGUAGE_NAMES, current_locale
from portal.places.geocode import geocode
from portal.places.search import Suggestion, has_address_points
from portal.requests.answers import raw_answers
from portal.requests.models import ServiceRequest
from portal.requests.service import (
    Filing,
    FilingError,
    active_category,
    parse_coordinate,
    submit_request,
)
from portal.web import db_session, settings

bp = Blueprint("casework_intake", __name__, url_prefix="/staff/intake")


def _form() -> IntakeForm:
    db = db_session()
    locale = current_locale()
    form = IntakeForm()
    form.channel.choices = [(code, str(label)) for code, label in CHANNEL_LABELS.items()]
    categories = db.scalars(
        select(ServiceCategory).where(ServiceCategory.active).order_by(ServiceCategory.name)
    ).all()
    form.category.choices = [("", _("Choose a category"))] + [
        (c.code, c.t("name", locale)) for c in categories
    ]
    form.area.choices = [("", _("Not known"))] + [
        (a.code, a.name)
        for a in db.scalars(select(Area).where(Area.active.is_(True)).order_by(Area.name))
    ]
    form.locale.choices = [(code, LANGUAGE_NAMES.get(code, code)) for code in settings().languages]
    return form


def _field_errors(
    error: FilingError, category: ServiceCategory | None, locale: str
) -> dict[str, list[str]]:
    """Plain-language messages for ``submit_request``'s error codes, by form field id."""
    city = settings().city_text("name", current_locale())
    out: dict[str, list[str]] = {}
    questions = {q.code: q for q in (category.questions if category else [])}
    for key, code in error.errors.items():
        if key == "category":
            field, message = "category", _("Choose a category from the list.")
        elif key == "channel":
            field, message = "channel", _("Choose how the resident contacted us.")
        elif key == "description":
            field, message = (
                "description",
                (
                    _("Describe the problem so the crew knows what to look for.")
                    if code == "required"
                    else _("Keep the description to 4000 characters or fewer.")
                ),
            )
        elif key.startswith("answers."):
            question = questions.get(key[8:])
            field = f"q_{key[8:]}"
            if code == "stopped" and question is not None:
                message = _(
                    "This answer means the request cannot be filed here: %(notice)s",
                    notice=question.t("stop_message", locale),
                )
            else:
                message = (
                    answer_message(question, code, locale) if question else _("Check this field.")
                )
        elif key in ("address", "location", "area"):
            field = {"address": "address", "location": "lat", "area": "area"}[key]
            message = location_message(key, code, city)
        elif key in ("email", "phone", "name"):
            field, message = key, contact_message(key, code)
        elif key == "asset":
            field = "asset"
            message = _(
                "No city asset of this category has that number. Check it with the caller, "
                "or leave it empty."
            )
        else:
            field, message = key, _("Check this field.")
        out.setdefault(field, []).append(message)
    return out


def _can_open(case: ServiceRequest) -> bool:
    return member_may_open(db_session(), request=case, can_work=current_staff().can_work)


def _file(
    form: IntakeForm, category: ServiceCategory | None, answers: dict[str, Any]
) -> tuple[Any, dict[str, list[str]]]:
    """Validate and file. Returns (redirect, {}) or (None, errors by field id)."""
    valid = form.validate_on_submit()
    errors = {f.id: list(f.errors) for f in form if f.errors and f.id != "csrf_token"}
    if category is None:
        errors["category"] = [_("Choose a category from the list.")]
    lat, lat_ok = parse_coordinate(form.lat.data)
    lon, lon_ok = parse_coordinate(form.lon.data)
    if not (lat_ok and lon_ok):
        errors.setdefault("lat", []).append(
            location_message("location", "invalid", settings().city_text("name", current_locale()))
        )
    if not valid or errors or category is None:
        return None, errors or {"": [_("The form has expired. Try again.")]}
    address = (form.address.data or "").strip()
    point_id = _point_id(form.point.data)
    if lat is None and lon is None and point_id is None and address:
        found = _search(form, address)
        if isinstance(found, Searched):
            return found, {}
        point_id = found
        lat, lon = parse_coordinate(form.lat.data)[0], parse_coordinate(form.lon.data)[0]
    filing = Filing(
        category_code=category.code,
        description=form.description.data or "",
        answers=answers,
        address=form.address.data or "",
        lat=lat,
        lon=lon,
        address_point_id=point_id,
        area_code=form.area.data or None,
        asset_ref=(form.asset.data or "").strip(),
        contact_name=form.name.data or "",
        contact_email=form.email.data or "",
        contact_phone=form.phone.data or "",
        private=bool(form.private.data),
        locale=form.locale.data or "en",
        channel=form.channel.data or "",
    )
    locale = current_locale()
    try:
        case = submit_request(
            db_session(), settings=settings(), filing=filing, reporter=None, actor_kind="staff"
        ).request
    except FilingError as exc:
        return None, _field_errors(exc, category, locale)
    if case.location_status == "found":
        flash(_("Found in the city's addresses: %(address)s.", address=case.address), "info")
    elif case.location_status == "not_found":
        flash(
            _("The address was not found; it is kept as typed. Place it on the case page."),
            "info",
        )
    if _can_open(case):
        flash(_("Request %(reference)s filed.", reference=case.reference), "success")
        return redirect(url_for("casework_case.show", reference=case.reference)), {}
    flash(
        _(
            "Request %(reference)s filed and sent to %(department)s.",
            reference=case.reference,
            department=case.department.t("name", locale),
        ),
        "success",
    )
    return redirect(url_for("casework_intake.new")), {}


@dataclass(frozen=True)
class Searched:
    """The typed address, searched before filing, needs staff to choose (several matches)
    or confirm (none): the form is shown again with them."""

    candidates: list[Suggestion]
    not_found: bool


def _point_id(raw: str | None) -> int | None:
    raw = (raw or "").strip()
    return int(raw) if raw.isdigit() and len(raw) < 19 else None


def _search(form: IntakeForm, address: str) -> int | None | Searched:
    """The typed address in the city's register (when it has one): an exact match or the
    chosen candidate gives its address point; several matches are offered, none asks to
    confirm ("none": file the text, staff place it later). Intersections are filed by name
    (``submit_request`` geocodes them again)."""
    db = db_session()
    if not has_address_points(db):
        return None
    answer = geocode(db, address)
    if answer.found and answer.match is not None:
        form.address.data = answer.match.label  # as the register writes it
        return answer.match.id
    choice = (form.choice.data or "").strip()
    if choice.isdigit() and int(choice) < len(answer.candidates):
        picked = answer.candidates[int(choice)]
        form.address.data = picked.label
        if picked.id is None:  # an intersection: its coordinates
            form.lat.data, form.lon.data = f"{picked.lat:.7f}", f"{picked.lon:.7f}"
        return picked.id
    if choice == "none":
        return None
    return Searched(answer.candidates, not_found=not answer.candidates)


@bp.route("/", methods=["GET", "POST"])
@staff_required()
def new():
    locale = current_locale()
    form = _form()
    if request.method == "GET":
        form.category.data = request.args.get("category", "")
        form.locale.data = locale if locale in settings().languages else "en"
    category = active_category(db_session(), form.category.data)
    answers: dict[str, Any] = {}
    if category is not None and request.method == "POST":
        answers = raw_answers(category, request.form)
    errors: dict[str, list[str]] = {}
    if request.method == "POST" and request.form.get("action") == "questions":
        form.validate_on_submit()  # a redraw changes nothing: show no errors
        for f in form:
            f.errors = []
        if category is None:
            errors["category"] = [_("Choose a category from the list.")]
    searched: Searched | None = None
    if request.method == "POST" and request.form.get("action") != "questions":
        done, errors = _file(form, category, answers)
        if isinstance(done, Searched):
            searched = done
        elif done is not None:
            return done
    for f in form:
        if f.id in errors:
            f.errors = errors[f.id]
    summary = [
        (fid, m)
        for fid, msgs in errors.items()
        for m in msgs
        if fid.startswith("q_") or not hasattr(form, fid)
    ]
    answer_errors = {fid[2:]: msgs[0] for fid, msgs in errors.items() if fid.startswith("q_")}
    return render_template(
        "casework/intake/new.html",
        form=form,
        category=category,
        answers=answers,
        answer_errors=answer_errors,
        summary=summary,
        locale=locale,
        field_errors=errors,
        candidates=searched.candidates if searched else [],
        not_found=bool(searched and searched.not_found),
    ), (400 if errors else 200)
