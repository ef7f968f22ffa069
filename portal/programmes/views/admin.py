"""Back office: community programmes for coordinators (and admins): the list, a programme's
details, its status, capacity and messages to the people enrolled. Its sessions and eligibility
questions are in ``admin_sessions`` and ``admin_questions`` (pages of this blueprint, added when
``create_app`` imports them); the roster and attendance pages are in
``portal.programmes.views.roster``."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from portal.access import COORDINATOR, staff_required
from portal.i18n import current_locale
from portal.programmes import programme_changes, service
from portal.programmes.admin import common, programmes
from portal.programmes.models import STATUSES, Programme
from portal.programmes.views.admin_forms import (
    ADMISSION_NAMES,
    QUESTION_KIND_NAMES,
    STATUS_ACTIONS,
    ActionForm,
    CapacityForm,
    MessageForm,
    NewProgrammeForm,
    ProgrammeForm,
    QuestionForm,
    SessionForm,
    whole,
)
from portal.programmes.views.labels import KIND_NAMES, STATUS_NAMES, TOPIC_NAMES
from portal.web import db_session, settings

bp = Blueprint("programmes_admin", __name__, url_prefix="/staff/programmes")

#: Programme, session and question ids are 32-bit columns: a larger id is simply not found.
MAX_ID = 2**31 - 1


def actor() -> Any:
    return current_user._get_current_object()  # type: ignore[attr-defined]


def timezone() -> str:
    return settings().timezone


def programme_or_404(programme_id: int, *, lock: bool = False) -> Programme:
    if programme_id > MAX_ID:
        abort(404)
    programme = db_session().get(Programme, programme_id, with_for_update=lock or None)
    if programme is None:
        abort(404)
    return programme


def _part_or_404(programme: Programme, rows: list[Any], row_id: int) -> Any:
    row = next((r for r in rows if r.id == row_id), None)
    if row is None:
        abort(404)
    return row


def names() -> dict[str, dict[str, str]]:
    """Display names of the codes the pages show, in the page's language."""
    return {
        "kinds": {k: str(v) for k, v in KIND_NAMES.items()},
        "topics": {k: str(v) for k, v in TOPIC_NAMES.items()},
        "admissions": {k: str(v) for k, v in ADMISSION_NAMES.items()},
        "statuses": {k: str(v) for k, v in STATUS_NAMES.items()},
        "actions": {k: str(v) for k, v in STATUS_ACTIONS.items()},
        "question_kinds": {k: str(v) for k, v in QUESTION_KIND_NAMES.items()},
    }


def area_names() -> dict[int, str]:
    return dict(programmes.area_choices(db_session()))


# --- messages --------------------------------------------------------------------------------


def _message(key: str, code: str) -> str:
    specific = {
        ("enrol_closes_at", "before_opens"): _("Enrolment must close after it opens"),
        ("completion_min_sessions", "more_than_sessions"): _(
            "This is more than the programme's sessions: enter a number up to the number of "
            "sessions, or leave it empty for all sessions"
        ),
        ("contact_email", "invalid"): _("Enter an email address like name@example.org"),
        ("end", "end_before_start"): _("The session must end after it starts"),
        ("online_url", "not_https"): _("Enter a secure web address starting with https://"),
        ("place", "needs_place"): _("Enter a place, an online link, or both"),
        ("session", "has_attendance"): _(
            "This session has attendance recorded, so it cannot be deleted"
        ),
        ("session", "below_minimum"): _(
            "Fewer sessions would remain than participants must attend to complete: lower "
            "the completion rule first"
        ),
        ("options", "invalid"): _(
            "Write one choice a line as key | English label | Spanish label, with a key of "
            "lower-case letters, digits, hyphens or underscores"
        ),
        ("options", "duplicate_option"): _("Each choice needs a different key"),
        ("options", "options_for_choice_only"): _(
            "Only questions with a list of choices have choices: leave this empty"
        ),
        ("options", "needs_options"): _("Enter at least two choices, one a line"),
        ("options", "too_many"): _("Enter %(max)d choices or fewer", max=common.OPTIONS_MAX),
        ("eligible_values", "unknown_option"): _(
            "Use the keys of the choices (yes or no for a yes-or-no question), separated by commas"
        ),
        ("eligible_values", "number_only"): _(
            "For a number, set the lowest and highest numbers that qualify instead"
        ),
        ("eligible_values", "invalid"): _(
            "Only yes-or-no and list questions have answers that qualify: leave this empty"
        ),
        ("min_value", "number_only"): _(
            "Only number questions have a lowest and highest number: leave these empty"
        ),
        ("max_value", "min_above_max"): _("The highest number must not be below the lowest"),
        ("max_length", "invalid"): _("Only text questions have a longest answer: leave this empty"),
        ("kind", "unknown"): _("Choose from the list"),
        ("area_id", "unknown"): _("Choose a neighbourhood from the list"),
        ("day", "too_many"): _("A programme has at most %(max)d sessions", max=common.SESSIONS_MAX),
        ("prompt", "too_many"): _(
            "A programme asks at most %(max)d questions", max=common.QUESTIONS_MAX
        ),
    }.get((key, code))
    if specific:
        return specific
    return {
        "required": _("This is required"),
        "too_long": _("This is too long"),
        "unknown": _("Choose from the list"),
        "too_small": _("This number is too small"),
        "too_large": _("This number is too large"),
    }.get(code, _("Check this"))


FIELD_OF = {"area_id": "area", "enrol_closes_at": "closes_day", "enrol_opens_at": "opens_day"}


def show_errors(form: Any, error: common.ProgrammeAdminError) -> None:
    for key, code in error.errors.items():
        field = getattr(form, FIELD_OF.get(key, key), None)
        if field is None:
            form.form_errors.append(_message(key, code))
        else:
            field.errors = [*field.errors, _message(key, code)]


# --- the list --------------------------------------------------------------------------------


@bp.get("")
@staff_required(COORDINATOR)
def index() -> Any:
    status = request.args.get("status", "open")
    if status not in STATUSES:
        status = "open"
    number = request.args.get("page", "1")
    number = int(number) if number.isdigit() and len(number) < 6 else 1
    page = programmes.list_programmes(db_session(), status=status, page=number)
    return render_template(
        "programmes/admin/index.html",
        page=page,
        status=status,
        statuses=STATUSES,
        names=names(),
        areas=area_names(),
        locale=current_locale(),
        previous_url=url_for(".index", status=status, page=page.page - 1)
        if page.page > 1
        else None,
        next_url=url_for(".index", status=status, page=page.page + 1) if page.has_next else None,
    )


# --- create and edit -------------------------------------------------------------------------


def _fill(form: ProgrammeForm) -> None:
    form.area.choices = [("", _("The whole city")), *programmes.area_choices(db_session())]


def _programme_input(form: ProgrammeForm) -> programmes.ProgrammeInput:
    zone = timezone()
    capacity = getattr(form, "capacity", None)
    return programmes.ProgrammeInput(
        title=form.title.data or "",
        title_es=form.title_es.data or "",
        summary=form.summary.data or "",
        summary_es=form.summary_es.data or "",
        description=form.description.data or "",
        description_es=form.description_es.data or "",
        kind=form.kind.data or "",
        topic=form.topic.data or "",
        admission=form.admission.data or "",
        area_id=form.area.data,
        capacity=whole(capacity) if capacity is not None else None,
        enrol_opens_at=common.to_utc(form.opens_day.data, form.opens_time.data, zone),
        enrol_closes_at=common.to_utc(form.closes_day.data, form.closes_time.data, zone),
        completion_min_sessions=whole(form.completion_min_sessions),
        offer_hours=whole(form.offer_hours),
        contact_email=form.contact_email.data or "",
    )


def _programme_data(programme: Programme) -> dict[str, Any]:
    spanish = (programme.translations or {}).get("es", {})
    opens = common.local(programme.enrol_opens_at, timezone())
    closes = common.local(programme.enrol_closes_at, timezone())
    return {
        "title": programme.title,
        "summary": programme.summary,
        "description": programme.description,
        "title_es": spanish.get("title", ""),
        "summary_es": spanish.get("summary", ""),
        "description_es": spanish.get("description", ""),
        "kind": programme.kind,
        "topic": programme.topic,
        "area": programme.area_id,
        "admission": programme.admission,
        "opens_day": opens.date() if opens else None,
        "opens_time": opens.time().replace(second=0, microsecond=0) if opens else None,
        "closes_day": closes.date() if closes else None,
        "closes_time": closes.time().replace(second=0, microsecond=0) if closes else None,
        "completion_min_sessions": str(programme.completion_min_sessions or ""),
        "offer_hours": str(programme.offer_hours or ""),
        "contact_email": programme.contact_email,
    }


def _form_page(
    form: ProgrammeForm, programme: Programme | None, status: int = 200
) -> tuple[str, int]:
    return render_template(
        "programmes/admin/form.html",
        form=form,
        programme=programme,
        default_offer_hours=settings().programme_offer_hours,
        timezone=timezone(),
    ), status


@bp.route("/new", methods=["GET", "POST"])
@staff_required(COORDINATOR)
def new() -> Any:
    form = NewProgrammeForm()
    _fill(form)
    if request.method == "GET":
        return _form_page(form, None)
    if form.validate():
        try:
            programme = programmes.create_programme(
                db_session(), _programme_input(form), actor=actor()
            )
        except common.ProgrammeAdminError as error:
            show_errors(form, error)
        else:
            flash(
                _(
                    "Programme “%(title)s” created as a draft. Add its sessions, then open "
                    "enrolment.",
                    title=programme.title,
                ),
                "success",
            )
            return redirect(url_for(".show", programme_id=programme.id))
    return _form_page(form, None, 400)


@bp.route("/<int:programme_id>/edit", methods=["GET", "POST"])
@staff_required(COORDINATOR)
def edit(programme_id: int) -> Any:
    if request.method == "GET":
        programme = programme_or_404(programme_id)
        form = ProgrammeForm(data=_programme_data(programme))
        _fill(form)
        return _form_page(form, programme)
    programme = programme_or_404(programme_id, lock=True)
    form = ProgrammeForm()
    _fill(form)
    if form.validate():
        try:
            programmes.update_programme(
                db_session(), programme, _programme_input(form), actor=actor()
            )
        except common.ProgrammeAdminError as error:
            show_errors(form, error)
        else:
            flash(_("Programme “%(title)s” saved.", title=programme.title), "success")
            return redirect(url_for(".show", programme_id=programme.id))
    return _form_page(form, programme, 400)


# --- the overview ----------------------------------------------------------------------------


def overview(
    programme: Programme,
    status: int = 200,
    *,
    capacity_form: CapacityForm | None = None,
    session_form: SessionForm | None = None,
    question_form: QuestionForm | None = None,
    status_error: str | None = None,
    confirm_errors: dict[str, str] | None = None,
) -> tuple[str, int]:
    session = db_session()
    return render_template(
        "programmes/admin/show.html",
        programme=programme,
        names=names(),
        area=area_names().get(programme.area_id) if programme.area_id else None,
        transitions=programme_changes.TRANSITIONS.get(programme.status, ()),
        status_error=status_error,
        confirm_errors=confirm_errors or {},
        capacity_form=capacity_form
        or CapacityForm(formdata=None, data={"capacity": str(programme.capacity)}),
        session_form=session_form or SessionForm(formdata=None, prefix="session"),
        question_form=question_form or QuestionForm(formdata=None, prefix="question"),
        action_form=ActionForm(),
        has_enrolments=programmes.has_enrolments(session, programme),
        default_offer_hours=settings().programme_offer_hours,
        locale=current_locale(),
        timezone=timezone(),
    ), status


@bp.get("/<int:programme_id>")
@staff_required(COORDINATOR)
def show(programme_id: int) -> Any:
    return overview(programme_or_404(programme_id))


def _status_message(error: Any, current: str) -> str:
    detail = getattr(error, "detail", "")
    if detail == "no_sessions":
        return _("Add at least one session before opening enrolment.")
    if detail == "no_window":
        return _("Set when enrolment opens and closes before opening enrolment.")
    return _(
        "A programme that is “%(current)s” cannot move to that status.",
        current=names()["statuses"].get(current, current),
    )


@bp.post("/<int:programme_id>/status")
@staff_required(COORDINATOR)
def change_status(programme_id: int) -> Any:
    programme = programme_or_404(programme_id, lock=True)
    form = ActionForm()
    wanted = request.form.get("status", "")
    if not form.validate():
        abort(400)
    current = programme.status
    try:
        programme_changes.change_status(
            db_session(), settings=settings(), programme=programme, status=wanted, by=actor()
        )
    except service.ProgrammeError as error:
        db_session().rollback()
        programme = programme_or_404(programme_id)
        return overview(programme, 400, status_error=_status_message(error, current))
    flash(
        _(
            "The programme is now “%(status)s”.",
            status=names()["statuses"].get(programme.status, programme.status),
        ),
        "success",
    )
    return redirect(url_for(".show", programme_id=programme.id))


@bp.post("/<int:programme_id>/capacity")
@staff_required(COORDINATOR)
def capacity(programme_id: int) -> Any:
    programme = programme_or_404(programme_id, lock=True)
    form = CapacityForm()
    if form.validate():
        try:
            programme_changes.set_capacity(
                db_session(),
                settings=settings(),
                programme=programme,
                capacity=whole(form.capacity) or 0,
                by=actor(),
            )
        except service.ProgrammeError:
            form.capacity.errors = [
                *form.capacity.errors,
                _("The places cannot be changed now (the programme is over or cancelled)"),
            ]
        else:
            flash(_("Places set to %(count)d.", count=programme.capacity), "success")
            return redirect(url_for(".show", programme_id=programme.id))
    db_session().rollback()
    return overview(programme_or_404(programme_id), 400, capacity_form=form)


# --- message to the people enrolled ----------------------------------------------------------


@bp.route("/<int:programme_id>/message", methods=["GET", "POST"])
@staff_required(COORDINATOR)
def message(programme_id: int) -> Any:
    programme = programme_or_404(programme_id, lock=request.method == "POST")
    form = MessageForm()
    if request.method == "POST":
        if form.validate():
            try:
                count = programme_changes.message_enrolees(
                    db_session(),
                    settings=settings(),
                    programme=programme,
                    subject=form.subject.data or "",
                    body=form.body.data or "",
                    by=actor(),
                )
            except service.ProgrammeError as error:
                field = form.body if error.detail == "body" else form.subject
                field.errors = [*field.errors, _("This is required")]
                return render_template(
                    "programmes/admin/message.html", form=form, programme=programme
                ), 400
            flash(
                ngettext(
                    "Your message is on its way to %(num)d enrolled participant.",
                    "Your message is on its way to %(num)d enrolled participants.",
                    count,
                )
                if count
                else _("Nobody is enrolled yet, so no message was sent."),
                "success" if count else "info",
            )
            return redirect(url_for(".show", programme_id=programme.id))
        return render_template("programmes/admin/message.html", form=form, programme=programme), 400
    return render_template("programmes/admin/message.html", form=form, programme=programme)
