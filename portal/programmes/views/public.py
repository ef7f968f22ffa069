"""Residents find community programmes, enrol, and follow their own enrolments.

- ``/programmes``: open programmes (only status "open": a closed programme's page stays
  reachable by its link but is not listed), filtered and keyset-paginated;
- ``/programmes/<id>``: the programme page (drafts are a 404), its calendar file;
- ``/programmes/<id>/enrol``: the eligibility questions, then ``service.enrol``;
- ``/my/programmes`` and ``/my/programmes/<id>``: the resident's enrolments; anyone else's
  enrolment id is the same 404 as an unknown one.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from babel import Locale
from babel.dates import format_interval, format_skeleton
from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale, get_timezone
from flask_babel import gettext as _
from flask_login import current_user, login_required

from portal.auth.models import User
from portal.core import clock
from portal.extensions import limiter
from portal.form_messages import answer_message
from portal.i18n import current_locale
from portal.programmes import eligibility, queries, service
from portal.programmes.models import Enrolment, Programme, ProgrammeSession
from portal.programmes.views.labels import KIND_NAMES, STATUS_NAMES, TOPIC_NAMES
from portal.programmes.views.public_forms import (
    CANCEL_REASON_NAMES,
    REFUSAL_MESSAGES,
    STATE_CLASSES,
    STATE_NAMES,
    EnrolForm,
    EnrolmentActionForm,
    ProgrammeFilterForm,
    eligibility_rule,
    ineligible_message,
)
from portal.web import db_session, settings

bp = Blueprint("programmes_public", __name__)

#: States in which the resident may still give up their place (or their wish for one).
CANCELLABLE = ("applied", "enrolled", "waitlisted", "offered")
#: States after which a resident may sign up again.
ENDED = ("cancelled", "rejected")
#: States without a confirmed place: their calendar file is tentative, with no reminder.
UNCONFIRMED = ("waitlisted", "applied", "offered")
FILTER_ARGS = ("q", "area", "topic", "kind", "from", "to")


# -- words and dates for the templates -------------------------------------------------------


@bp.app_template_global("programme_day")
def programme_day(day: date | None) -> str:
    """A date as "Thu, Sep 10, 2026" in the page's language."""
    return format_skeleton("yMMMEd", day, locale=str(get_locale() or "en")) if day else ""


@bp.app_template_global("session_when")
def session_when(item: ProgrammeSession) -> str:
    """When a session meets, in the city's time zone: "Thu, Sep 10, 2026, 5:00 – 7:00 PM"."""
    locale = str(get_locale() or "en")
    zone = get_timezone()
    start = item.starts_at.astimezone(zone)
    if item.ends_at.astimezone(zone).date() != start.date():
        return format_interval(item.starts_at, item.ends_at, "yMMMEdjm", tzinfo=zone, locale=locale)
    hours = "hm" if "h" in _short_time_pattern(locale) else "Hm"
    return (
        f"{format_skeleton('yMMMEd', start, tzinfo=zone, locale=locale)}, "
        f"{format_interval(item.starts_at, item.ends_at, hours, tzinfo=zone, locale=locale)}"
    )


def _short_time_pattern(locale: str) -> str:
    return str(Locale.parse(locale).time_formats["short"].pattern)


@bp.app_template_global("programme_kind")
def programme_kind(code: str) -> str:
    return str(KIND_NAMES.get(code, code))


@bp.app_template_global("programme_topic")
def programme_topic(code: str) -> str:
    return str(TOPIC_NAMES.get(code, code))


@bp.app_template_global("programme_status")
def programme_status(code: str) -> str:
    return str(STATUS_NAMES.get(code, code))


@bp.app_template_global("enrolment_state")
def enrolment_state(code: str) -> str:
    return str(STATE_NAMES.get(code, code))


@bp.app_template_global("enrolment_state_class")
def enrolment_state_class(code: str) -> str:
    return STATE_CLASSES.get(code, "bg-base-dark")


# -- helpers ---------------------------------------------------------------------------------


def _user() -> User | None:
    return current_user if current_user.is_authenticated else None  # type: ignore[return-value]


def _programme(programme_id: int) -> Programme:
    programme = queries.visible_programme(db_session(), programme_id)
    if programme is None:
        abort(404)
    return programme


def _own(enrolment_id: int) -> Enrolment:
    user = _user()
    assert user is not None
    enrolment = queries.resident_enrolment(db_session(), enrolment_id=enrolment_id, user_id=user.id)
    if enrolment is None:
        abort(404)
    return enrolment


def _refusal(programme: Programme) -> str | None:
    """Why a resident cannot enrol now, in words; None when they can."""
    code = service.can_enrol(programme, clock.now())
    if code is None:
        return None
    if (
        code == "window_closed"
        and programme.enrol_opens_at is not None
        and clock.now() < programme.enrol_opens_at
    ):
        return _("Enrolment opens on %(moment)s.", moment=_moment(programme.enrol_opens_at))
    if programme.status == "closed":
        return _("Enrolment for this programme is closed.")
    if programme.status == "cancelled":
        return _("This programme has been cancelled.")
    if programme.status == "completed":
        return _("This programme has finished.")
    return str(REFUSAL_MESSAGES.get(code, REFUSAL_MESSAGES["not_open"]))


def _moment(value: Any) -> str:
    from portal.templating import moment_text

    return moment_text(value)


def _is_full(programme: Programme) -> bool:
    """No free place for a newcomer (a free place goes to the waitlist first)."""
    return programme.places_left == 0 or programme.waiting > 0


def _filter_url(**extra: Any) -> str:
    args = {k: v for k in FILTER_ARGS if (v := request.args.get(k))}
    return url_for("programmes_public.browse", **args, **extra)


# -- browsing --------------------------------------------------------------------------------


def _filter_message(field: str, code: str) -> str:
    if code == "not_a_date":
        return _("Enter a real date, like 2026-03-31. This date was ignored.")
    if code == "range":
        return _("The end date is before the start date, so it was ignored.")
    if code == "too_long":
        return _("Search for 100 characters or fewer. The search was ignored.")
    names = {
        "area": _("That neighbourhood is not on the list, so it was ignored."),
        "topic": _("That topic is not on the list, so it was ignored."),
        "kind": _("That kind of programme is not on the list, so it was ignored."),
    }
    return names.get(field, _("This filter was ignored."))


@bp.get("/programmes")
def browse():
    db = db_session()
    locale = current_locale()
    parsed = queries.parse_filters(db, request.args)
    form = ProgrammeFilterForm(request.args)
    areas = queries.areas(db)
    form.area.choices = [("", _("Any neighbourhood")), (queries.CITY_WIDE, _("Whole city"))] + [
        (a.code, a.name) for a in areas
    ]
    form.topic.choices = [("", _("Any topic"))] + [(k, str(v)) for k, v in TOPIC_NAMES.items()]
    form.kind.choices = [("", _("Any kind"))] + [(k, str(v)) for k, v in KIND_NAMES.items()]
    fields = {
        "q": form.q,
        "area": form.area,
        "topic": form.topic,
        "kind": form.kind,
        "from": form.start,
        "to": form.end,
    }
    for name, code in parsed.problems.items():
        fields[name].errors = [*fields[name].errors, _filter_message(name, code)]
    page = queries.browse_programmes(
        db,
        filters=parsed.filters,
        locale=locale,
        after=request.args.get("after"),
        before=request.args.get("before"),
    )
    names = queries.area_names(db, {p.area_id for p in page.items if p.area_id})
    filtered = any(request.args.get(k) for k in FILTER_ARGS)
    return render_template(
        "programmes/public/browse.html",
        form=form,
        page=page,
        area_names=names,
        locale=locale,
        filtered=filtered,
        is_full=_is_full,
        next_url=_filter_url(after=page.next_cursor) if page.next_cursor else None,
        previous_url=_filter_url(before=page.previous_cursor) if page.previous_cursor else None,
    )


# -- the programme page ----------------------------------------------------------------------


@bp.get("/programmes/<int:programme_id>")
def show(programme_id: int):
    db = db_session()
    programme = _programme(programme_id)
    locale = current_locale()
    user = _user()
    own = queries.own_enrolment(db, programme_id=programme.id, user_id=user.id) if user else None
    position = service.waitlist_position(db, own) if own is not None else None
    area_name = (
        queries.area_names(db, {programme.area_id}).get(programme.area_id)
        if programme.area_id
        else None
    )
    may_sign_up = own is None or own.state in ENDED
    return render_template(
        "programmes/public/show.html",
        programme=programme,
        locale=locale,
        own=own,
        position=position,
        area_name=area_name,
        refusal=_refusal(programme),
        may_sign_up=may_sign_up,
        full=_is_full(programme),
        mandatory=[s for s in programme.sessions if s.mandatory],
        rules={q.code: eligibility_rule(q, locale) for q in programme.questions},
    )


@bp.get("/programmes/<int:programme_id>/calendar.ics")
def calendar(programme_id: int):
    from portal.programmes.ics import programme_calendar

    programme = _programme(programme_id)
    user = _user()
    own = (
        queries.own_enrolment(db_session(), programme_id=programme.id, user_id=user.id)
        if user
        else None
    )
    # Without a confirmed place (waiting, applying, offered) the sessions are tentative.
    tentative = own is not None and own.state in UNCONFIRMED
    body = programme_calendar(programme, current_locale(), settings().base_url, tentative=tentative)
    response = make_response(body)
    response.headers["Content-Type"] = "text/calendar; charset=utf-8"
    if user is not None:
        response.headers["Cache-Control"] = "private, no-store"
        response.vary.add("Cookie")
    response.headers["Content-Disposition"] = f'attachment; filename="programme-{programme.id}.ics"'
    return response


# -- enrolling -------------------------------------------------------------------------------


@bp.route("/programmes/<int:programme_id>/enrol", methods=["GET", "POST"])
@login_required
@limiter.limit("30 per minute", methods=["POST"])
def enrol(programme_id: int):
    db = db_session()
    programme = _programme(programme_id)
    user = _user()
    assert user is not None
    locale = current_locale()
    own = queries.own_enrolment(db, programme_id=programme.id, user_id=user.id)
    if own is not None and own.state not in ENDED:
        flash(_("You have already signed up for this programme."), "info")
        return redirect(url_for("programmes_public.enrolment", enrolment_id=own.id))
    form = EnrolForm()
    refusal = _refusal(programme)
    answers: dict[str, Any] = {}
    answer_errors: dict[str, str] = {}
    if request.method == "POST" and refusal is None:
        if not form.validate_on_submit():
            abort(400)
        raw = eligibility.raw_answers(programme, request.form)
        answers = raw
        try:
            result = service.enrol(
                db, settings=settings(), programme=programme, user=user, raw=raw, locale=locale
            )
        except service.AnswersRejected as exc:
            db.rollback()
            answer_errors = _answer_errors(programme, exc.check, locale)
        except service.ProgrammeError as exc:
            db.rollback()
            refusal = str(REFUSAL_MESSAGES.get(exc.code, REFUSAL_MESSAGES["invalid"]))
            if exc.code == "already_enrolled":
                flash(refusal, "info")
                mine = queries.own_enrolment(db, programme_id=programme_id, user_id=user.id)
                if mine is not None:
                    return redirect(url_for("programmes_public.enrolment", enrolment_id=mine.id))
        else:
            flash(_enrolled_message(programme, result, locale), "success")
            return redirect(
                url_for("programmes_public.enrolment", enrolment_id=result.enrolment.id)
            )
    summary = [(f"q_{code}", message) for code, message in answer_errors.items()]
    status = 200
    if request.method == "POST":
        status = 409 if refusal else 400
    return render_template(
        "programmes/public/enrol.html",
        programme=programme,
        form=form,
        locale=locale,
        category=programme,
        answers=answers,
        answer_errors=answer_errors,
        summary=summary,
        refusal=refusal,
        full=_is_full(programme),
    ), status


def _answer_errors(
    programme: Programme, check: eligibility.EligibilityCheck, locale: str
) -> dict[str, str]:
    errors: dict[str, str] = {}
    for question in programme.questions:
        if question.code in check.errors:
            errors[question.code] = answer_message(question, check.errors[question.code], locale)  # type: ignore[arg-type]
        elif question.code in check.ineligible:
            errors[question.code] = ineligible_message(question, locale)
    return errors


def _enrolled_message(programme: Programme, result: service.EnrolResult, locale: str) -> str:
    title = programme.t("title", locale)
    if result.outcome == "waitlisted":
        return _(
            "%(title)s is full, so you are on the waitlist at position %(position)s. "
            "If a place frees up we will email you.",
            title=title,
            position=result.position or "?",
        )
    if result.outcome == "applied":
        return _(
            "Your application to %(title)s has been received. We will email you the decision.",
            title=title,
        )
    return _("You are enrolled in %(title)s.", title=title)


# -- my programmes ---------------------------------------------------------------------------


@bp.get("/my/programmes")
@login_required
def mine():
    user = _user()
    assert user is not None
    db = db_session()
    page = queries.resident_enrolments(
        db, user_id=user.id, before=request.args.get("before"), after=request.args.get("after")
    )
    upcoming = queries.next_sessions(db, {e.programme_id for e in page.items}, clock.now())
    positions = {
        e.id: service.waitlist_position(db, e) for e in page.items if e.state == "waitlisted"
    }
    return render_template(
        "programmes/public/mine.html",
        page=page,
        upcoming=upcoming,
        positions=positions,
        locale=current_locale(),
        older_url=url_for("programmes_public.mine", before=page.older) if page.older else None,
        newer_url=url_for("programmes_public.mine", after=page.newer) if page.newer else None,
    )


@bp.get("/my/programmes/<int:enrolment_id>")
@login_required
def enrolment(enrolment_id: int):
    from portal.programmes.completion import progress

    db = db_session()
    item = _own(enrolment_id)
    programme = item.programme
    return render_template(
        "programmes/public/enrolment.html",
        enrolment=item,
        programme=programme,
        locale=current_locale(),
        position=service.waitlist_position(db, item),
        attendance=queries.attendance_by_session(db, item),
        progress=progress(db, item) if item.state == "enrolled" else None,
        form=EnrolmentActionForm(formdata=None),
        cancellable=item.state in CANCELLABLE,
        cancel_reason=str(CANCEL_REASON_NAMES.get(item.cancel_reason or "", "")),
        now=clock.now(),
    )


def _act(enrolment_id: int, action: str) -> Response:
    item = _own(enrolment_id)
    if not EnrolmentActionForm().validate_on_submit():
        abort(400)
    db = db_session()
    title = item.programme.t("title", current_locale())
    try:
        if action == "accept":
            service.accept_offer(db, settings=settings(), enrolment=item)
            flash(
                _("You accepted the place. You are enrolled in %(title)s.", title=title), "success"
            )
        elif action == "decline":
            service.decline_offer(db, settings=settings(), enrolment=item)
            flash(
                _(
                    "You declined the place in %(title)s. We will offer it to the next person "
                    "on the waitlist.",
                    title=title,
                ),
                "success",
            )
        else:
            service.cancel_enrolment(
                db, settings=settings(), enrolment=item, by=_user(), reason="resident"
            )
            flash(_("You cancelled your place in %(title)s.", title=title), "success")
    except service.ProgrammeError as exc:
        db.rollback()
        flash(str(REFUSAL_MESSAGES.get(exc.code, REFUSAL_MESSAGES["bad_state"])), "error")
    return redirect(url_for("programmes_public.enrolment", enrolment_id=enrolment_id))


@bp.post("/my/programmes/<int:enrolment_id>/accept")
@login_required
def accept(enrolment_id: int):
    return _act(enrolment_id, "accept")


@bp.post("/my/programmes/<int:enrolment_id>/decline")
@login_required
def decline(enrolment_id: int):
    return _act(enrolment_id, "decline")


@bp.post("/my/programmes/<int:enrolment_id>/cancel")
@login_required
def cancel(enrolment_id: int):
    return _act(enrolment_id, "cancel")


@bp.get("/my/programmes/<int:enrolment_id>/certificate.pdf")
@login_required
def certificate(enrolment_id: int):
    from portal.programmes.certificate import certificate_pdf

    item = _own(enrolment_id)
    if not item.completed:
        abort(404)
    body = certificate_pdf(
        item, item.programme, current_locale(), settings().city_text("name", current_locale())
    )
    response = make_response(body)
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = (
        f'attachment; filename="certificate-{item.programme_id}.pdf"'
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response
