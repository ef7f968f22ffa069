"""The case page: everything about one request, and every action staff take on it.

Who: a member may open a case when they work in its department or in the department of one
of its tasks (admins everywhere); anyone else gets a 404. Task actions need membership of the
task's department (a forged form for another department's task is a 404). Every action is a
POST carrying the case version: a stale one re-renders the page with what changed (409).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask import request as http
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError
from wtforms import SelectChoice

from portal.auth.models import User
from portal.casework import case_forms as forms
from portal.casework import merging, responses, service, tasks
from portal.casework.models import ResponseTemplate, Task
from portal.catalogue.models import Department, ServiceCategory
from portal.core import clock
from portal.i18n import current_locale
from portal.requests import queries, updates
from portal.requests.models import Event, InvalidTransition, RequestPhoto, ServiceRequest
from portal.sla.models import SlaClock
from portal.staff.access import current_staff, staff_required
from portal.staff.models import StaffMembership
from portal.web import db_session, send_photo, settings

bp = Blueprint("case", __name__, url_prefix="/staff/cases")

TIMELINE_LIMIT = 200
TASK_LIMIT = 100
#: A case holds a handful of clocks (its own three, one per task and transfer).
CLOCK_LIMIT = 50


def _user() -> User:
    user = db_session().get(User, current_staff().user_id)
    assert user is not None
    return user


def may_open(sr: ServiceRequest) -> bool:
    access = current_staff()
    if access.can_work(sr.department_id):
        return True
    return (
        db_session().scalar(
            select(Task.id)
            .where(Task.request_id == sr.id, Task.department_id.in_(access.department_ids))
            .limit(1)
        )
        is not None
    )


def _load(reference: str) -> ServiceRequest:
    canonical = queries.normalise_reference(reference, settings().reference_prefix)
    sr = queries.request_by_reference(db_session(), canonical) if canonical else None
    if sr is None or not may_open(sr):
        abort(404)
    return sr


def _task(sr: ServiceRequest, task_id: int) -> Task:
    task = db_session().get(Task, task_id) if 0 < task_id <= queries.MAX_ID else None
    if task is None or task.request_id != sr.id or not current_staff().can_work(task.department_id):
        abort(404)
    return task


# -- choices ----------------------------------------------------------------------------------


def _departments(exclude: int | None = None) -> list[SelectChoice]:
    rows = db_session().scalars(
        select(Department).where(Department.active.is_(True)).order_by(Department.name).limit(500)
    )
    return [SelectChoice(d.id, d.t("name", current_locale())) for d in rows if d.id != exclude]


def _categories() -> list[SelectChoice]:
    rows = db_session().scalars(
        select(ServiceCategory)
        .where(ServiceCategory.active.is_(True))
        .order_by(ServiceCategory.name)
        .limit(500)
    )
    return [SelectChoice(c.id, c.t("name", current_locale())) for c in rows]


def _members(department_id: int) -> list[User]:
    return list(
        db_session().scalars(
            select(User)
            .join(StaffMembership, StaffMembership.user_id == User.id)
            .where(StaffMembership.department_id == department_id, User.active.is_(True))
            .order_by(User.name, User.id)
            .limit(500)
        )
    )


def _templates(sr: ServiceRequest) -> list[ResponseTemplate]:
    return responses.response_templates(db_session(), sr)


def _setup(form: FlaskForm, sr: ServiceRequest, task: Task | None = None) -> FlaskForm:
    """Fill a form's choices for this case (the same on GET and POST)."""
    if isinstance(form, forms.ReplyForm):
        form.template.choices = [SelectChoice("", _("No template"))] + [
            SelectChoice(str(t.id), t.t("title", current_locale())) for t in _templates(sr)
        ]
    elif isinstance(form, forms.AddTaskForm):
        form.department.choices = _departments()
    elif isinstance(form, forms.CategoryForm):
        form.category.choices = _categories()
    elif isinstance(form, forms.AssignForm) and task is not None:
        form.assignee.choices = [SelectChoice("", _("Nobody (leave in the queue)"))] + [
            SelectChoice(str(u.id), u.name or u.email) for u in _members(task.department_id)
        ]
    elif isinstance(form, forms.TransferForm) and task is not None:
        form.to_department.choices = _departments(exclude=task.department_id)
    return form


# -- the page ---------------------------------------------------------------------------------

PRIORITY_NAMES = {
    "low": _l("Low"),
    "normal": _l("Normal"),
    "high": _l("High"),
    "urgent": _l("Urgent"),
}
TASK_FORMS = {
    "assign": forms.AssignForm,
    "complete": forms.CompleteForm,
    "cancel": forms.CancelForm,
    "transfer": forms.TransferForm,
}


def _answers(sr: ServiceRequest) -> list[tuple[str, str]]:
    locale = current_locale()
    rows = []
    for question in sr.category.all_questions:  # answers to retired questions too
        value = (sr.answers or {}).get(question.code)
        if value in (None, "", []):
            continue
        if isinstance(value, list):
            text = ", ".join(question.option_label(str(v), locale) for v in value)
        elif question.kind == "yesno":
            text = _("Yes") if str(value).lower() in ("yes", "true", "1") else _("No")
        elif question.kind == "single":
            text = question.option_label(str(value), locale)
        else:
            text = str(value)
        rows.append((question.t("prompt", locale), text))
    return rows


def _timeline(sr: ServiceRequest) -> list[Event]:
    newest = (
        select(Event)
        .where(Event.request_id == sr.id)
        .order_by(Event.id.desc())
        .limit(TIMELINE_LIMIT)
    )
    return sorted(db_session().scalars(newest), key=lambda e: e.id)


def _clocks(sr: ServiceRequest, tasks: list[Task]) -> list[dict[str, Any]]:
    """The case's SLA clocks, oldest first, with the task and department each belongs to."""
    db = db_session()
    clocks = list(
        db.scalars(
            select(SlaClock)
            .where(SlaClock.request_id == sr.id)
            .order_by(SlaClock.id)
            .limit(CLOCK_LIMIT)
        )
    )
    if not clocks:
        return []
    by_id = {t.id: t for t in tasks}
    wanted = sorted({c.department_id for c in clocks})
    names = {
        d.id: d.t("name", current_locale())
        for d in db.scalars(select(Department).where(Department.id.in_(wanted)))
    }
    return [
        {
            "clock": c,
            "task": by_id.get(c.task_id) if c.task_id else None,
            "department": names.get(c.department_id, ""),
        }
        for c in clocks
    ]


def _page(
    sr: ServiceRequest,
    *,
    status: int = 200,
    active: dict[str, FlaskForm] | None = None,
    conflict: list[Event] | None = None,
    errors: list[tuple[str, str]] | None = None,
):
    db = db_session()
    access = current_staff()
    active = active or {}

    def form(key: str, cls: type[FlaskForm], task: Task | None = None) -> FlaskForm:
        made = active.get(key) or _setup(cls(formdata=None), sr, task)
        return forms.ids_for(made, key)

    tasks = list(
        db.scalars(
            select(Task)
            .where(Task.request_id == sr.id)
            .order_by(Task.is_open.desc(), Task.id)
            .limit(TASK_LIMIT)
        )
    )
    task_forms = {
        task.id: {
            name: form(f"task{task.id}-{name}", cls, task) for name, cls in TASK_FORMS.items()
        }
        for task in tasks
        if task.is_open and access.can_work(task.department_id)
    }
    status_form = form("status", forms.StatusForm)
    allowed = [
        s
        for s in (
            "acknowledged",
            "in_progress",
            "waiting_on_resident",
            "waiting_on_third_party",
            "scheduled",
            "resolved",
            "closed",
            "rejected",
        )
        if sr.can_move_to(s)
    ]
    status_form.target.choices = [SelectChoice(s, service_status_label(s)) for s in allowed]
    timeline = _timeline(sr)
    reporter = sr.reporter
    context = {
        "sr": sr,
        "category": sr.category.t("name", current_locale()),
        "department": sr.department.t("name", current_locale()),
        "answers": _answers(sr),
        "photos": list(
            db.scalars(
                select(RequestPhoto)
                .where(RequestPhoto.request_id == sr.id)
                .order_by(RequestPhoto.id)
                .limit(50)
            )
        ),
        "contact": {
            "name": reporter.name if reporter else sr.contact_name,
            "email": reporter.email if reporter else sr.contact_email,
            "phone": (reporter.phone if reporter else "") or sr.contact_phone,
            "account": reporter is not None,
        },
        "timeline": timeline,
        "seen": timeline[-1].id if timeline else 0,
        "tasks": tasks,
        "task_forms": task_forms,
        "clocks": _clocks(sr, tasks),
        "now": clock.now(),
        "priority_names": {k: str(v) for k, v in PRIORITY_NAMES.items()},
        "duplicate_of": db.get(ServiceRequest, sr.duplicate_of_id) if sr.duplicate_of_id else None,
        "conflict": conflict,
        "errors": errors or [],
        "survey": _survey(sr),
        "f": {
            "acknowledge": form("acknowledge", forms.AcknowledgeForm),
            "priority": form("priority", forms.PriorityForm),
            "category": form("category", forms.CategoryForm),
            "status": status_form,
            "reply": form("reply", forms.ReplyForm),
            "note": form("note", forms.NoteForm),
            "question": form("question", forms.QuestionForm),
            "merge": form("merge", forms.MergeForm),
            "reopen": form("reopen", forms.ReopenForm),
            "task": form("task", forms.AddTaskForm),
        },
    }
    if "priority" not in active:
        context["f"]["priority"].priority.data = sr.priority
    if "category" not in active:
        context["f"]["category"].category.data = sr.category_id
    context["f"]["priority"].priority.choices = [
        SelectChoice(p, context["priority_names"][p]) for p in PRIORITY_NAMES
    ]
    return render_template("casework/case.html", **context), status


def _survey(sr: ServiceRequest) -> dict[str, Any] | None:
    """The case's satisfaction survey: its invitation and, unless the survey is anonymous to
    agents (supervisors of the case's department and admins still see them), the answers."""
    from portal.surveys.answering import answer_rows, case_survey
    from portal.surveys.schema import localized

    found = case_survey(db_session(), sr.id)
    if found is None:
        return None
    access = current_staff()
    may_see = (
        not found.definition.anonymous_to_staff
        or access.supervises(sr.department_id)
        or access.supervises(found.invitation.department_id)
    )
    rows = (
        answer_rows(
            found.definition,
            found.response.answers,
            current_locale(),
            {"yes": _("Yes"), "no": _("No")},
        )
        if found.response is not None and may_see
        else []
    )
    return {
        "invitation": found.invitation,
        "response": found.response,
        "rows": rows,
        "hidden": found.response is not None and not may_see,
        "title": localized(found.definition.title, current_locale()),
    }


#: Staff wording where the residents' differs ("Waiting for your reply" is for residents).
STAFF_STATUS_NAMES = {
    "new": _l("New"),
    "waiting_on_resident": _l("Waiting on the resident"),
    "waiting_on_third_party": _l("Waiting on a third party"),
}


def service_status_label(status: str) -> str:
    from portal.requests.labels import status_label

    return str(STAFF_STATUS_NAMES[status]) if status in STAFF_STATUS_NAMES else status_label(status)


@bp.get("/<reference>")
@staff_required()
def show(reference: str):
    sr = _load(reference)
    if sr.reference != reference:
        return redirect(url_for("case.show", reference=sr.reference), 301)
    return _page(sr)


@bp.get("/<reference>/photos/<int:photo_id>")
@staff_required()
def photo(reference: str, photo_id: int):
    """Any photo of the case, public or not (staff only)."""
    sr = _load(reference)
    item = db_session().get(RequestPhoto, photo_id) if photo_id <= queries.MAX_ID else None
    if item is None or item.request_id != sr.id:
        abort(404)
    return send_photo(item.storage_key)


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
    "use_merge": _l(
        "To close a case as a duplicate, use “Merge as duplicate” and enter the request to keep."
    ),
}


def _message(code: str) -> str:
    return str(ERRORS.get(code) or _("This action could not be done."))


def _act(
    reference: str,
    key: str,
    cls: type[FlaskForm],
    do: Callable[[ServiceRequest, Any, User], str | None],
    *,
    task_id: int | None = None,
    anchor: str = "actions",
):
    """Parse, authorise, check the version and run ``do``; re-render on any problem."""
    sr = _load(reference)
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
        done = do(sr, form, _user()) if task is None else do(task, form, _user())
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
        return _page(sr, status=400, active={page_key: form}, errors=[("", _message(error.code))])
    if isinstance(done, str):  # a page to show instead of redirecting (template chosen)
        return _page(sr, active={page_key: form})
    flash(_("Saved."), "success")
    return redirect(url_for("case.show", reference=sr.reference, _anchor=anchor))


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

    return _act(reference, "category", forms.CategoryForm, do)


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
    )


@bp.post("/<reference>/reply")
@staff_required()
def reply(reference: str):
    def do(sr: ServiceRequest, f: forms.ReplyForm, me: User) -> str | None:
        if "use_template" in http.form:
            chosen = next((t for t in _templates(sr) if str(t.id) == f.template.data), None)
            if chosen is None:
                raise service.CaseError("template")
            f.body.data = responses.fill_template(chosen, sr, sr.locale or "en")
            return "prefilled"
        service.reply(
            db_session(), settings=settings(), request=sr, body=f.body.data, actor=me, **_common(f)
        )
        return None

    return _act(reference, "reply", forms.ReplyForm, do, anchor="timeline")


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
        anchor="timeline",
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

    return _act(reference, "merge", forms.MergeForm, do)


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
    )


@bp.post("/<reference>/tasks")
@staff_required()
def add_task(reference: str):
    def do(sr: ServiceRequest, f: forms.AddTaskForm, me: User) -> None:
        service.check_version(db_session(), request=sr, **_common(f))
        department = db_session().get(Department, f.department.data)
        if department is None:  # pragma: no cover - the choices guard this
            abort(400)
        tasks.add_task(
            db_session(), request=sr, department=department, title=f.title.data, actor=me
        )

    return _act(reference, "task", forms.AddTaskForm, do, anchor="tasks")


@bp.post("/<reference>/tasks/<int:task_id>/assign")
@staff_required()
def assign_task(reference: str, task_id: int):
    def do(task: Task, f: forms.AssignForm, me: User) -> None:
        assignee = db_session().get(User, int(f.assignee.data)) if f.assignee.data else None
        tasks.assign_task(db_session(), task=task, assignee=assignee, actor=me, settings=settings())

    return _act(reference, "assign", forms.AssignForm, do, task_id=task_id, anchor="tasks")


@bp.post("/<reference>/tasks/<int:task_id>/complete")
@staff_required()
def complete_task(reference: str, task_id: int):
    return _act(
        reference,
        "complete",
        forms.CompleteForm,
        lambda task, f, me: (
            tasks.complete_task(
                db_session(), settings=settings(), task=task, actor=me, note=f.done_note.data or ""
            )
            and None
        ),
        task_id=task_id,
        anchor="tasks",
    )


@bp.post("/<reference>/tasks/<int:task_id>/cancel")
@staff_required()
def cancel_task(reference: str, task_id: int):
    return _act(
        reference,
        "cancel",
        forms.CancelForm,
        lambda task, f, me: (
            tasks.cancel_task(
                db_session(),
                settings=settings(),
                task=task,
                actor=me,
                note=f.cancel_note.data or "",
            )
            and None
        ),
        task_id=task_id,
        anchor="tasks",
    )


@bp.post("/<reference>/tasks/<int:task_id>/transfer")
@staff_required()
def transfer_task(reference: str, task_id: int):
    def do(task: Task, f: forms.TransferForm, me: User) -> None:
        department = db_session().get(Department, f.to_department.data)
        if department is None:  # pragma: no cover - the choices guard this
            abort(400)
        tasks.transfer_task(
            db_session(), task=task, department=department, reason=f.reason.data, actor=me
        )

    return _act(reference, "transfer", forms.TransferForm, do, task_id=task_id, anchor="tasks")
