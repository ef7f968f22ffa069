"""Every action staff take on a case: each is a POST carrying the case version, and a stale one
re-renders the page with what changed (409). Pages of the ``casework_case`` blueprint of
``portal.casework.views.case``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import redirect, session, url_for
from flask import request as http
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from portal.access import staff_required
from portal.assist import duplicates
from portal.auth.models import User
from portal.casework import locations, merging, responses, service
from portal.casework.views import case_forms as forms
from portal.casework.views.case import (
    OUTCOME_KEY,
    _load,
    _page,
    _setup,
    _task,
    _templates,
    _user,
    bp,
    service_status_label,
)
from portal.catalogue.models import ServiceCategory
from portal.core import clock
from portal.i18n import current_locale
from portal.requests import queries, updates
from portal.requests.models import Event, InvalidTransition, ServiceRequest
from portal.templating import PRIORITY_NAMES
from portal.web import db_session, settings

# -- actions ----------------------------------------------------------------------------------

ERRORS = {
    "required": _l("Enter a message."),
    "too_long": _l("Keep it to 2000 characters or fewer."),
    "self": _l("A request cannot be a duplicate of itself."),
    "closed": _l("That request is already closed or a duplicate; choose one that is still open."),
    "case_closed": _l("This case is closed; reopen it first."),
    "unknown": _l("There is no request with that reference."),
    "assignee": _l("Choose someone who works in this task's department."),
    "task_closed": _l("This task is already finished."),
    "same_department": _l("Choose another department."),
    "title": _l("Say what the department needs to do."),
    "priority": _l("Choose a priority."),
    "category": _l("Choose a category that is in use."),
    "template": _l("Choose a template."),
    "not_candidate": _l("That is no longer a possible duplicate of this case."),
    "use_merge": _l(
        "To close a case as a duplicate, use “Merge as duplicate” and enter the request to keep."
    ),
}


def _message(code: str) -> str:
    return str(ERRORS.get(code) or _("This action could not be done."))


Said = str | Callable[[Any], str]


def said(sr: ServiceRequest, *, section: str, text: str, before: str) -> None:
    """Keep the result of an action for the case page, which shows it (once) at the top of
    ``section``, where the action was taken; a case that became resolved says so too."""
    resolved = before != "resolved" and sr.status == "resolved"
    session[OUTCOME_KEY] = {
        "reference": sr.reference,
        "section": section,
        "text": text,
        "resolved": _("That was the last open task: the case is now resolved.") if resolved else "",
    }


def _act(
    reference: str,
    key: str,
    cls: type[FlaskForm],
    do: Callable[[ServiceRequest, Any, User], str | None],
    *,
    task_id: int | None = None,
    anchor: str = "case-actions",
    done: Said = "",
):
    """Parse, authorise, check the version and run ``do``; re-render on any problem. Done,
    back to the case at ``anchor`` with ``done`` (text, or made from the form) shown there."""
    sr = _load(reference)
    before = sr.status
    task = _task(sr, task_id) if task_id is not None else None
    form = _setup(cls(), sr, task)
    page_key = f"task{task.id}-{key}" if task else key
    if not form.validate():
        return _page(sr, status=400, active={page_key: form})
    try:
        if task is not None:
            service.check_version(
                db_session(), request=sr, version=form.version.data, since_event_id=form.seen.data
            )
        shown = do(sr, form, _user()) if task is None else do(task, form, _user())
    except service.StaleCase as stale:
        return _page(sr, status=409, active={page_key: form}, conflict=stale.changes)
    except StaleDataError:
        return _concurrent(reference, form, page_key)
    except InvalidTransition as error:
        message = _(
            "A case that is “%(current)s” cannot become “%(target)s”.",
            current=service_status_label(error.current),
            target=service_status_label(error.target),
        )
        return _page(sr, status=400, active={page_key: form}, errors=[("", message)])
    except (service.CaseError, updates.UpdateError) as error:
        field = getattr(form, "message", None)
        if field is not None and error.code in ("required", "too_long"):  # the composer's
            field.errors = [*field.errors, _message(error.code)]
            return _page(sr, status=400, active={page_key: form})
        return _page(sr, status=400, active={page_key: form}, errors=[("", _message(error.code))])
    if isinstance(shown, str):  # a page to show instead of redirecting (template chosen)
        return _page(sr, active={page_key: form})
    text = done(form) if callable(done) else done
    said(sr, section=anchor, text=text or _("Saved."), before=before)
    return redirect(url_for("casework_case.show", reference=sr.reference, _anchor=anchor))


def _concurrent(reference: str, form: FlaskForm, key: str):
    """Someone saved the case between our read and our write: start again from the top."""
    db_session().rollback()
    sr = _load(reference)
    seen = form.seen.data or 0
    changes = list(
        db_session().scalars(
            select(Event)
            .where(Event.request_id == sr.id, Event.id > seen)
            .order_by(Event.id)
            .limit(20)
        )
    )
    return _page(sr, status=409, active={key: form}, conflict=changes)


def _common(form: FlaskForm) -> dict[str, Any]:
    return {"version": form.version.data, "since_event_id": form.seen.data}


@bp.post("/<reference>/acknowledge")
@staff_required()
def acknowledge(reference: str):
    return _act(
        reference,
        "acknowledge",
        forms.AcknowledgeForm,
        lambda sr, f, me: (
            service.acknowledge(
                db_session(), settings=settings(), request=sr, actor=me, **_common(f)
            )
            and None
        ),
        done=_("Case acknowledged."),
        anchor="case-summary",
    )


@bp.post("/<reference>/priority")
@staff_required()
def priority(reference: str):
    return _act(
        reference,
        "priority",
        forms.PriorityForm,
        lambda sr, f, me: (
            service.set_priority(
                db_session(), request=sr, priority=f.priority.data, actor=me, **_common(f)
            )
            and None
        ),
        done=lambda f: _(
            "Priority set to %(priority)s.",
            priority=PRIORITY_NAMES.get(f.priority.data, f.priority.data),
        ),
    )


@bp.post("/<reference>/category")
@staff_required()
def category(reference: str):
    def do(sr: ServiceRequest, f: forms.CategoryForm, me: User) -> None:
        chosen = db_session().get(ServiceCategory, f.category.data)
        if chosen is None:  # pragma: no cover - the choices guard this
            raise service.CaseError("category")
        service.change_category(
            db_session(), settings=settings(), request=sr, category=chosen, actor=me, **_common(f)
        )

    return _act(
        reference,
        "category",
        forms.CategoryForm,
        do,
        done=_("Category changed. The service level clocks follow the new category."),
    )


@bp.post("/<reference>/status")
@staff_required()
def status(reference: str):
    return _act(
        reference,
        "status",
        forms.StatusForm,
        lambda sr, f, me: (
            service.change_case_status(
                db_session(),
                settings=settings(),
                request=sr,
                target=f.target.data,
                actor=me,
                note=f.status_note.data,
                **_common(f),
            )
            and None
        ),
        done=lambda f: _(
            "Status changed to “%(status)s”.", status=service_status_label(f.target.data)
        ),
    )


REPLY_SENT = _l("Reply sent to the resident.")
NOTE_ADDED = _l("Internal note added (staff only).")
QUESTION_ASKED = _l("Question sent: the case waits on the resident until they answer.")


def _use_template(sr: ServiceRequest, chosen_id: str, *, for_resident: bool) -> str:
    """A response template's text filled for the case (in the resident's language for what
    they will read, the reader's for a note); raises ``CaseError("template")``."""
    chosen = next((t for t in _templates(sr) if str(t.id) == chosen_id), None)
    if chosen is None:
        raise service.CaseError("template")
    locale = (sr.locale or "en") if for_resident else current_locale()
    return responses.fill_template(chosen, sr, locale)


@bp.post("/<reference>/compose")
@staff_required()
def compose(reference: str):
    """The composer: a public reply, an internal note or a question, as ``kind`` says."""

    def do(sr: ServiceRequest, f: forms.ComposeForm, me: User) -> str | None:
        kind = f.kind.data
        if "use_template" in http.form:
            f.message.data = _use_template(sr, f.template.data, for_resident=kind != "note")
            return "prefilled"
        text = f.message.data or ""
        if kind == "note":
            service.add_internal_note(db_session(), request=sr, body=text, actor=me)
        elif kind == "question":
            service.ask_question(
                db_session(),
                settings=settings(),
                request=sr,
                question=text,
                actor=me,
                **_common(f),
            )
        else:
            service.reply(
                db_session(), settings=settings(), request=sr, body=text, actor=me, **_common(f)
            )
        return None

    messages = {"reply": REPLY_SENT, "note": NOTE_ADDED, "question": QUESTION_ASKED}
    return _act(
        reference,
        "compose",
        forms.ComposeForm,
        do,
        anchor="composer",
        done=lambda f: str(messages.get(f.kind.data, REPLY_SENT)),
    )


@bp.post("/<reference>/reply")
@staff_required()
def reply(reference: str):
    def do(sr: ServiceRequest, f: forms.ReplyForm, me: User) -> str | None:
        if "use_template" in http.form:
            f.body.data = _use_template(sr, f.template.data, for_resident=True)
            return "prefilled"
        service.reply(
            db_session(), settings=settings(), request=sr, body=f.body.data, actor=me, **_common(f)
        )
        return None

    return _act(reference, "reply", forms.ReplyForm, do, anchor="composer", done=str(REPLY_SENT))


@bp.post("/<reference>/note")
@staff_required()
def note(reference: str):
    return _act(
        reference,
        "note",
        forms.NoteForm,
        lambda sr, f, me: (
            service.add_internal_note(db_session(), request=sr, body=f.note.data, actor=me) and None
        ),
        anchor="composer",
        done=str(NOTE_ADDED),
    )


@bp.post("/<reference>/question")
@staff_required()
def question(reference: str):
    return _act(
        reference,
        "question",
        forms.QuestionForm,
        lambda sr, f, me: (
            service.ask_question(
                db_session(),
                settings=settings(),
                request=sr,
                question=f.question.data,
                actor=me,
                **_common(f),
            )
            and None
        ),
        anchor="composer",
        done=str(QUESTION_ASKED),
    )


@bp.post("/<reference>/merge")
@staff_required()
def merge(reference: str):
    def do(sr: ServiceRequest, f: forms.MergeForm, me: User) -> None:
        canonical = queries.normalise_reference(f.into.data, settings().reference_prefix)
        into = queries.request_by_reference(db_session(), canonical) if canonical else None
        if into is None:
            raise service.CaseError("unknown")
        merging.merge_duplicate(
            db_session(), settings=settings(), request=sr, into=into, actor=me, **_common(f)
        )

    return _act(
        reference,
        "merge",
        forms.MergeForm,
        do,
        done=lambda f: _(
            "Closed as a duplicate of %(reference)s.", reference=f.into.data.strip().upper()
        ),
    )


@bp.post("/<reference>/not-duplicate")
@staff_required()
def not_duplicate(reference: str):
    """A person says a possible duplicate is not one (recorded and audited; the pair is no
    longer shown on either case)."""

    def do(sr: ServiceRequest, f: forms.NotDuplicateForm, me: User) -> None:
        try:
            duplicates.decide(
                db_session(),
                sr=sr,
                candidate_id=f.candidate.data,
                decision="not_duplicate",
                actor=me,
                now=clock.now(),
            )
        except duplicates.NotFound as exc:
            raise service.CaseError("not_candidate") from exc

    return _act(
        reference,
        "not_duplicate",
        forms.NotDuplicateForm,
        do,
        anchor="duplicates",
        done=_("Marked as not a duplicate."),
    )


@bp.post("/<reference>/reopen")
@staff_required()
def reopen(reference: str):
    return _act(
        reference,
        "reopen",
        forms.ReopenForm,
        lambda sr, f, me: (
            service.reopen_case(
                db_session(),
                settings=settings(),
                request=sr,
                actor=me,
                note=f.reopen_note.data,
                **_common(f),
            )
            and None
        ),
        done=_("Case reopened."),
    )


def _place_message(code: str) -> str:
    city = settings().city_text("name", current_locale())
    messages = {
        "required": _("Enter the address, choose one of the suggestions, or enter coordinates."),
        "too_long": _("Keep the address to 300 characters or fewer."),
        "not_found": _(
            "No address in the city's register matches that. Check the spelling, or enter "
            "coordinates."
        ),
        "unknown_point": _("That address is no longer in the city's register. Search again."),
        "invalid": _(
            "Enter the latitude and longitude as decimal numbers, like 41.0012 and -87.0034."
        ),
        "incomplete": _("Enter both the latitude and the longitude."),
        "outside_city": _(
            "That point is outside %(city)s. Enter coordinates inside the city, or an address.",
            city=city,
        ),
    }
    return messages.get(code, _("Check this field."))


@bp.post("/<reference>/place")
@staff_required()
def place(reference: str):
    """Place a case whose address was not found (portal.casework.locations)."""
    sr = _load(reference)
    form = _setup(forms.PlaceForm(), sr)
    if not form.validate():
        return _page(sr, status=400, active={"place": form})
    raw_point = (form.point.data or "").strip()
    try:
        placed = locations.place_case(
            db_session(),
            settings=settings(),
            request=sr,
            actor=_user(),
            now=clock.now(),
            address=form.address.data or "",
            point_id=int(raw_point) if raw_point.isdigit() and len(raw_point) < 19 else None,
            choice=form.choice.data or "",
            lat=form.lat.data or "",
            lon=form.lon.data or "",
            **_common(form),
        )
    except service.StaleCase as stale:
        return _page(sr, status=409, active={"place": form}, conflict=stale.changes)
    except StaleDataError:
        return _concurrent(reference, form, "place")
    except locations.PlaceError as error:
        target = form.address if error.field == "address" else form.lat
        target.errors = [*target.errors, _place_message(error.code)]
        return _page(sr, status=400, active={"place": form})
    if placed.event is None:  # several addresses match: offer them (no JavaScript)
        form.candidates = placed.candidates  # type: ignore[attr-defined]
        return _page(sr, active={"place": form})
    said(sr, section="location", text=_("Location saved."), before=sr.status)
    return redirect(url_for("casework_case.show", reference=sr.reference, _anchor="location"))
