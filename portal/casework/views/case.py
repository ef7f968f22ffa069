"""The case page: everything about one request; the blueprint ``casework_case``, whose actions
are in ``case_actions`` (on the case) and ``case_tasks`` (on its tasks).

Who: a member may open a case when they work in its department or in the department of one
of its tasks (admins everywhere); anyone else gets a 404. Task actions need membership of the
task's department (a forged form for another department's task is a 404). Every action is a
POST carrying the case version: a stale one re-renders the page with what changed (409).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from wtforms import SelectChoice

from portal.access import current_staff, staff_required
from portal.auth.models import User
from portal.casework import locations, maps, responses
from portal.casework.models import ResponseTemplate, Task
from portal.casework.queues import member_may_open
from portal.casework.views import case_forms as forms
from portal.casework.views.case_duplicates import duplicates_panel
from portal.casework.views.case_language import resident_texts
from portal.casework.views.residents import related_panel
from portal.catalogue.models import Department, ServiceCategory
from portal.core import clock
from portal.i18n import current_locale
from portal.outbound.service import links_for as outbound_links
from portal.places.features import BadBox, parse_bbox
from portal.requests import queries
from portal.requests.map_features import requests_geojson
from portal.requests.models import Event, RequestPhoto, ServiceRequest
from portal.sla.models import SlaClock
from portal.staff.models import StaffMembership
from portal.templating import PRIORITY_NAMES
from portal.web import db_session, error_response, send_photo, settings

bp = Blueprint("casework_case", __name__, url_prefix="/staff/cases")

TIMELINE_LIMIT = 200
TASK_LIMIT = 100
#: A case holds a handful of clocks (its own three, one per task and transfer).
CLOCK_LIMIT = 50


def _user() -> User:
    user = db_session().get(User, current_staff().user_id)
    assert user is not None
    return user


def may_open(sr: ServiceRequest) -> bool:
    return member_may_open(db_session(), request=sr, can_work=current_staff().can_work)


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
    """The case's response templates (read once per web request)."""
    cached = g.get("case_templates")
    if cached is None or cached[0] != sr.id:
        cached = (sr.id, responses.response_templates(db_session(), sr))
        g.case_templates = cached
    return cached[1]


def _setup(form: FlaskForm, sr: ServiceRequest, task: Task | None = None) -> FlaskForm:
    """Fill a form's choices for this case (the same on GET and POST)."""
    if isinstance(form, forms.ReplyForm | forms.ComposeForm):
        form.template.choices = [SelectChoice("", _("No template"))] + [
            SelectChoice(str(t.id), t.t("title", current_locale())) for t in _templates(sr)
        ]
    if isinstance(form, forms.ComposeForm) and not sr.can_move_to("waiting_on_resident"):
        form.kind.choices = [
            c
            for c in form.kind.choices  # type: ignore[union-attr]
            if getattr(c, "value", None) != "question"
        ]
    if isinstance(form, forms.AddTaskForm):
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
        .options(selectinload(Event.actor))
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


#: Where the result of the last action is kept until the case page shows it, beside the
#: section the action was taken in (``case_actions.said``).
OUTCOME_KEY = "case_outcome"


def _outcome(sr: ServiceRequest) -> dict[str, Any] | None:
    """The result of the action just taken on this case (shown once), or None."""
    found = session.pop(OUTCOME_KEY, None)
    if not isinstance(found, dict) or found.get("reference") != sr.reference:
        return None
    return found


def _state(sr: ServiceRequest, tasks: list[Task], now: Any) -> dict[str, Any]:
    """The case's standing, for the bar at the top: waiting, late, escalated, resolved."""
    from portal.sla.status import case_state, task_state

    open_tasks = [t for t in tasks if t.is_open]
    late = [t for t in open_tasks if task_state(t, now).is_late]
    return {
        "waiting": sr.status == "waiting_on_resident",
        "resolved": sr.status == "resolved",
        "closed": not sr.is_open,
        "late_tasks": len(late),
        "case_late": case_state(sr, now).is_late,
        "escalated": [t for t in open_tasks if t.queue == "escalation" or t.escalation_level],
        "open_tasks": len(open_tasks),
        "assignees": sorted(
            {(t.assignee.name or t.assignee.email) for t in open_tasks if t.assignee is not None}
        ),
    }


def _template_texts(sr: ServiceRequest) -> list[dict[str, str]]:
    """Each template filled for this case: in the resident's language (replies, questions)
    and in the reader's (internal notes), for the composer's script."""
    mine = current_locale()
    theirs = sr.locale or "en"
    return [
        {
            "id": str(t.id),
            "resident": responses.fill_template(t, sr, theirs),
            "staff": responses.fill_template(t, sr, mine),
        }
        for t in _templates(sr)
    ]


def _page(
    sr: ServiceRequest,
    *,
    status: int = 200,
    active: dict[str, FlaskForm] | None = None,
    conflict: list[Event] | None = None,
    errors: list[tuple[str, str]] | None = None,
    outcome: dict[str, Any] | None = None,
):
    db = db_session()
    access = current_staff()
    active = active or {}
    now = clock.now()

    def form(key: str, cls: type[FlaskForm], task: Task | None = None) -> FlaskForm:
        made = active.get(key) or _setup(cls(formdata=None), sr, task)
        return forms.ids_for(made, key)

    tasks = list(
        db.scalars(
            select(Task)
            .where(Task.request_id == sr.id)
            .options(selectinload(Task.department), selectinload(Task.assignee))
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
    me = current_staff().user_id
    assign_to_me = {
        task.id
        for task in tasks
        if task.id in task_forms
        and task.assignee_id != me
        and any(
            c.value == str(me)
            for c in task_forms[task.id]["assign"].assignee.choices  # type: ignore[union-attr]
        )
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
    survey = _survey(sr)
    texts = resident_texts(
        sr,
        timeline,
        request.args.getlist("translate"),
        others=[c for c in (survey or {}).get("comments", []) if c is not None],
    )
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
        "texts": texts,
        "seen": timeline[-1].id if timeline else 0,
        "tasks": tasks,
        "outbound": outbound_links(db, [t.id for t in tasks]),
        "task_forms": task_forms,
        "clocks": _clocks(sr, tasks),
        "now": now,
        "state": _state(sr, tasks, now),
        "status_text": service_status_label(sr.status),
        "outcome": outcome or {},
        "assign_to_me": assign_to_me,
        "me": me,
        "template_texts": _template_texts(sr),
        "priority_names": {k: str(v) for k, v in PRIORITY_NAMES.items()},
        "duplicate_of": db.get(ServiceRequest, sr.duplicate_of_id) if sr.duplicate_of_id else None,
        "conflict": conflict,
        "errors": errors or [],
        "survey": survey,
        "nearby": maps.nearby_open(db, sr, _visible_departments()),
        "nearby_radius": maps.NEARBY_RADIUS_M,
        "f": {
            "acknowledge": form("acknowledge", forms.AcknowledgeForm),
            "priority": form("priority", forms.PriorityForm),
            "category": form("category", forms.CategoryForm),
            "status": status_form,
            "compose": _compose_form(sr, active),
            "merge": form("merge", forms.MergeForm),
            "not_duplicate": form("not_duplicate", forms.NotDuplicateForm),
            "reopen": form("reopen", forms.ReopenForm),
            "task": form("task", forms.AddTaskForm),
            "place": form("place", forms.PlaceForm),
        },
        "needs_placing": locations.needs_placing(sr),
    }
    if "priority" not in active:
        context["f"]["priority"].priority.data = sr.priority
    if "category" not in active:
        context["f"]["category"].category.data = sr.category_id
    context["f"]["priority"].priority.choices = [
        SelectChoice(p, context["priority_names"][p]) for p in PRIORITY_NAMES
    ]
    context["related"] = related_panel(sr, nearby=context["nearby"])
    context["duplicates"] = duplicates_panel(sr)
    return render_template("casework/case/case.html", **context), status


def _compose_form(sr: ServiceRequest, active: dict[str, FlaskForm]) -> FlaskForm:
    """The composer: as posted when it is being shown again, else empty (a reply); the old
    separate reply, note and question forms are shown again in it."""
    if "compose" in active:
        return forms.ids_for(active["compose"], "compose")
    made = _setup(forms.ComposeForm(formdata=None), sr)
    for kind, field in (("reply", "body"), ("note", "note"), ("question", "question")):
        old = active.get(kind)
        if old is not None:
            made.kind.data = kind
            made.message.data = getattr(old, field).data
            made.message.errors = list(getattr(old, field).errors)
            if kind == "reply":
                made.template.data = old.template.data
    return forms.ids_for(made, "compose")


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
    # The resident's own words (free-text answers), by row, for their language (issue 22):
    # answer_rows keeps the file's order and skips the unanswered questions, as here.
    answers = found.response.answers if found.response is not None and may_see else {}
    comments = [
        (f"survey-{q.id}", str(answers[q.id])) if q.kind == "text" else None
        for q in found.definition.questions
        if answers.get(q.id) not in (None, "", [])
    ]
    return {
        "invitation": found.invitation,
        "response": found.response,
        "rows": rows,
        "comments": comments if len(comments) == len(rows) else [None] * len(rows),
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
    from portal.templating import status_label

    return str(STAFF_STATUS_NAMES[status]) if status in STAFF_STATUS_NAMES else status_label(status)


@bp.get("/<reference>")
@staff_required()
def show(reference: str):
    sr = _load(reference)
    if sr.reference != reference:
        return redirect(url_for("casework_case.show", reference=sr.reference), 301)
    return _page(sr, outcome=_outcome(sr))


def _visible_departments() -> list[int] | None:
    access = current_staff()
    return None if access.is_admin else list(access.department_ids)


@bp.get("/<reference>/nearby.geojson")
@staff_required()
def nearby_map(reference: str):
    """The open requests around the case (its map), of the member's departments."""
    from portal.casework.views.queue import staff_geojson

    sr = _load(reference)
    try:
        box = parse_bbox(request.args.get("bbox"))
    except BadBox as exc:
        return error_response(str(exc))
    return staff_geojson(
        requests_geojson(
            db_session(),
            (box.min_lon, box.min_lat, box.max_lon, box.max_lat),
            status="all",
            now=clock.now(),
            locale=current_locale(),
            extra=maps.open_near_case(sr, _visible_departments()),
            public_only=False,
        )
    )


@bp.get("/<reference>/photos/<int:photo_id>")
@staff_required()
def photo(reference: str, photo_id: int):
    """Any photo of the case, public or not (staff only)."""
    sr = _load(reference)
    item = db_session().get(RequestPhoto, photo_id) if photo_id <= queries.MAX_ID else None
    if item is None or item.request_id != sr.id:
        abort(404)
    return send_photo(item.storage_key)
