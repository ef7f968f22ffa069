"""Staff queues (tabs), their filters and keyset pages, and bulk actions on selected rows."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from portal.access import ADMIN, current_staff, department_choices, staff_required
from portal.areas.models import Area
from portal.auth.models import User
from portal.casework.maps import queue_requests
from portal.casework.queue_updates import POLLED_VIEWS, SINCE_FORMAT
from portal.casework.queues import (
    DEFAULT_SORTS,
    MAX_BULK,
    PAGE_SIZE,
    BulkFailed,
    Filters,
    base_query,
    bounded_count,
    member_may_open,
    queue_page,
    run_bulk,
    tasks_for_bulk,
)
from portal.casework.saved_views import SavedView, clean_query, views_of
from portal.casework.views.queue_forms import (
    CHANNEL_NAMES,
    SORT_NAMES,
    STATUS_NAMES,
    BulkForm,
    QueueFilterForm,
    SaveViewForm,
)
from portal.catalogue.models import ServiceCategory
from portal.core import clock
from portal.i18n import current_locale
from portal.places.features import BadBox, parse_bbox
from portal.requests.map_features import requests_geojson
from portal.requests.models import InvalidTransition, ServiceRequest
from portal.staff.models import StaffMembership
from portal.staff.permissions import StaffAccess
from portal.templating import PRIORITY_NAMES, status_label
from portal.web import db_session, error_response, geojson_response, settings

bp = Blueprint("casework_queue", __name__, url_prefix="/staff")

#: (view, endpoint, tab label); "all" is for admins only.
TABS = (
    ("mine", "casework_queue.queue", _l("My work")),
    ("department", "casework_queue.department", _l("My department")),
    ("unassigned", "casework_queue.unassigned", _l("Unassigned")),
    ("waiting", "casework_queue.waiting", _l("Waiting on the resident")),
    ("resolved", "casework_queue.resolved", _l("Recently resolved")),
    ("all", "casework_queue.everything", _l("Everything")),
)
ENDPOINTS = {view: endpoint for view, endpoint, _label in TABS}
COUNTED = ("mine", "unassigned", "waiting")
MAX_CHOICES = 500
#: Quick filters: (name, label, query parameter, value; "me" is the member's own id). Each
#: is a link that turns its filter on (or off again) on top of the others.
CHIPS = (
    ("mine", _l("Mine"), "assignee", "me"),
    ("unassigned", _l("Unassigned"), "assignee", "none"),
    ("due_soon", _l("Due soon"), "sla", "at_risk"),
    ("breached", _l("Breached"), "sla", "breached"),
    ("waiting", _l("Waiting on resident"), "status", "waiting_on_resident"),
    ("new", _l("New"), "status", "new"),
)
#: Tabs where a filter is fixed already, so its chips would change nothing.
NO_CHIPS = {
    "mine": ("mine", "unassigned"),
    "unassigned": ("mine", "unassigned"),
    "waiting": ("waiting", "new"),
    "resolved": ("due_soon", "breached", "waiting", "new"),
}
#: Query parameters that are not the queue's filter: paging, display and selection.
NOT_FILTERS = ("after", "before", "display", "select")
#: Cut a description to this many characters for its one line (the full text is its title).
DESCRIPTION_CHARS = 120
TITLE_CHARS = 1000


@bp.get("/")
@staff_required()
def queue() -> Any:
    return _show("mine")


@bp.get("/queue/department")
@staff_required()
def department() -> Any:
    return _show("department")


@bp.get("/queue/unassigned")
@staff_required()
def unassigned() -> Any:
    return _show("unassigned")


@bp.get("/queue/waiting")
@staff_required()
def waiting() -> Any:
    return _show("waiting")


@bp.get("/queue/resolved")
@staff_required()
def resolved() -> Any:
    return _show("resolved")


@bp.get("/queue/everything")
@staff_required(ADMIN)
def everything() -> Any:
    return _show("all")


# -- choices --------------------------------------------------------------------------------


def _agents(access: StaffAccess) -> list[tuple[int, str]]:
    """Active staff of the member's departments (every department for admins)."""
    query = (
        select(User.id, User.name)
        .join(StaffMembership, StaffMembership.user_id == User.id)
        .where(User.active.is_(True))
        .distinct()
        .order_by(User.name, User.id)
        .limit(MAX_CHOICES)
    )
    if not access.is_admin:
        query = query.where(StaffMembership.department_id.in_(access.department_ids))
    return [(row.id, row.name) for row in db_session().execute(query)]


def _categories() -> list[tuple[int, str]]:
    locale = current_locale()
    query = select(ServiceCategory).order_by(ServiceCategory.name).limit(MAX_CHOICES)
    return [(c.id, c.t("name", locale)) for c in db_session().scalars(query)]


def _areas() -> list[tuple[int, str]]:
    query = select(Area.id, Area.name).order_by(Area.name).limit(MAX_CHOICES)
    return [(row.id, row.name) for row in db_session().execute(query)]


# -- the queue page -------------------------------------------------------------------------


def _scope(
    view: str, access: StaffAccess, chosen: int | None, departments: list[tuple[int, str]]
) -> tuple[list[int] | None, int | None]:
    """(department ids the query covers, the department shown in the picker)."""
    if view == "department":
        shown = chosen if chosen is not None else (departments[0][0] if departments else None)
        return ([shown] if shown is not None else []), shown
    if chosen is not None:
        return [chosen], chosen
    return (None if access.is_admin else access.department_ids), None


def _state(view: str) -> tuple[StaffAccess, QueueFilterForm, Any, str, Any, Any, Any, Any]:
    """The member, the filter form as asked, and what the queue covers."""
    access = current_staff()
    departments = department_choices()
    agents = _agents(access)
    # The department queue shows one department: the first one unless another is chosen.
    first = str(departments[0][0]) if departments and view == "department" else ""
    form = QueueFilterForm(formdata=request.args, department=first, sort=DEFAULT_SORTS[view])
    form.set_choices(
        departments=departments,
        categories=_categories(),
        areas=_areas(),
        assignees=agents,
        department_any=view != "department",
    )
    filters, chosen, sort = form.clean()
    department_ids, shown = _scope(view, access, chosen, departments)
    if shown is not None:
        form.department.data = str(shown)
    return access, form, filters, sort, department_ids, shown, departments, agents


def _show(view: str) -> Any:
    session = db_session()
    access, form, filters, sort, department_ids, shown, departments, agents = _state(view)
    now = clock.now()
    page = queue_page(
        session,
        view=view,
        user_id=access.user_id,
        department_ids=department_ids,
        filters=filters,
        sort=sort,
        after=request.args.get("after"),
        before=request.args.get("before"),
        now=now,
    )
    counts = {
        v: bounded_count(
            session,
            view=v,
            user_id=access.user_id,
            department_ids=None if access.is_admin else access.department_ids,
            now=now,
        )
        for v in COUNTED
    }
    bulk = BulkForm(formdata=None)
    bulk.set_choices(assignees=agents)
    args = {k: v for k, v in request.args.items() if k not in NOT_FILTERS and v}
    endpoint = ENDPOINTS[view]
    saved = views_of(session, user_id=access.user_id)
    query = clean_query(list(request.args.items(multi=True)))
    may_assign_self = any(agent_id == access.user_id for agent_id, _name in agents)
    return render_template(
        "casework/queue/queue.html",
        view=view,
        tabs=[t for t in TABS if t[0] != "all" or access.is_admin],
        counts=counts,
        page_size=PAGE_SIZE,
        form=form,
        bulk=bulk,
        page=page,
        now=now,
        sort=sort,
        sort_name=str(SORT_NAMES.get(sort, "")),
        show_department_picker=view != "mine"
        and (len(departments) > 1 or bool(form.department.errors)),
        next_url=url_for(endpoint, **args, after=page.next_cursor) if page.next_cursor else None,
        previous_url=url_for(endpoint, **args, before=page.previous_cursor)
        if page.previous_cursor
        else None,
        here=request.full_path.rstrip("?"),
        args=args,
        selected_all=request.args.get("select") == "all",
        unselect_url=url_for(endpoint, **{k: v for k, v in request.args.items() if k != "select"}),
        chips=_chips(view, args, access.user_id, may_assign_self),
        saved_views=[(v, _saved_url(v), v.view == view and v.query == query) for v in saved],
        save_form=SaveViewForm(formdata=None, view=view, query=query),
        more_filters=_more_filters(filters),
        me=access.user_id if may_assign_self else None,
        updates_url=_updates_url(view, filters, shown, now),
        newest_url=url_for(endpoint, **{**args, "sort": "newest"}),
        show_map=request.args.get("display") == "map",
        map_args={k: v for k, v in args.items() if k != "display"},
        map_url=url_for(
            "casework_queue.map_features",
            view=view,
            **{k: v for k, v in args.items() if k != "display"},
        ),
        one_line=_one_line,
        title_chars=TITLE_CHARS,
        # Translated once per page, not once per row.
        status_names=_translated(STATUS_NAMES),
        priority_names=_translated(PRIORITY_NAMES),
        channel_names=_translated(CHANNEL_NAMES),
    )


def _chips(
    view: str, args: dict[str, str], user_id: int, may_assign_self: bool
) -> list[tuple[str, str, bool]]:
    """(label, link, on) of each quick filter that means something on ``view``."""
    chips = []
    for name, label, key, value in CHIPS:
        if name in NO_CHIPS.get(view, ()) or (value == "me" and not may_assign_self):
            continue
        wanted = str(user_id) if value == "me" else value
        on = args.get(key) == wanted
        target = {k: v for k, v in args.items() if k != key}
        if not on:
            target[key] = wanted
        chips.append((str(label), url_for(ENDPOINTS[view], **target), on))
    return chips


def _saved_url(saved: SavedView) -> str:
    endpoint = ENDPOINTS.get(saved.view, "casework_queue.queue")
    return url_for(endpoint, **dict(saved.params))


def _more_filters(filters: Filters) -> int:
    """How many filters are on besides the chips' (shown on the "More filters" switch)."""
    return sum(
        value is not None
        for value in (
            filters.category_id,
            filters.area_id,
            filters.priority,
            filters.older_than_days,
            filters.channel,
            filters.queue,
            filters.mark,
            filters.status if filters.status not in ("new", "waiting_on_resident") else None,
            filters.sla if filters.sla not in ("at_risk", "breached") else None,
            filters.assignee if filters.assignee != "none" else None,
        )
    )


def _updates_url(view: str, filters: Filters, shown: int | None, now: datetime) -> str | None:
    """Where the page asks whether new work arrived (its tab and filter since ``now``)."""
    if view not in POLLED_VIEWS:
        return url_for("casework_queue.updates")
    params: dict[str, Any] = {
        "view": view,
        "since": now.astimezone(UTC).strftime(SINCE_FORMAT),
        "department": shown,
        "status": filters.status,
        "category": filters.category_id,
        "area": filters.area_id,
        "priority": filters.priority,
        "channel": filters.channel,
        "assignee": filters.assignee,
        "sla": filters.sla,
        "queue": filters.queue,
        "age": filters.older_than_days,
    }
    return url_for("casework_queue.updates", **{k: v for k, v in params.items() if v is not None})


def _one_line(text: str | None, limit: int = DESCRIPTION_CHARS) -> str:
    """``text`` on one line, cut at a word before ``limit`` characters with an ellipsis."""
    flat = " ".join((text or "").split())
    if len(flat) <= limit:
        return flat
    cut = flat[:limit]
    if " " in cut[limit // 2 :]:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" .,;:") + "…"


@bp.get("/queue/map.geojson")
@staff_required()
def map_features() -> Any:
    """The queue's current filter on a map: its requests in ``?bbox=`` (clustered beyond
    500). Private to the member; never cached."""
    view = request.args.get("view", "mine")
    if view not in ENDPOINTS or (view == "all" and not current_staff().is_admin):
        return error_response("unknown view")
    try:
        box = parse_bbox(request.args.get("bbox"))
    except BadBox as exc:
        return error_response(str(exc))
    access, form, filters, _sort, department_ids, _shown, _d, _a = _state(view)
    now = clock.now()
    query = base_query(
        view=view,
        user_id=access.user_id,
        department_ids=department_ids,
        filters=filters,
        now=now,
    )
    return staff_geojson(
        requests_geojson(
            db_session(),
            (box.min_lon, box.min_lat, box.max_lon, box.max_lat),
            status="all",
            now=now,
            locale=current_locale(),
            extra=[queue_requests(query)],
            public_only=False,
        )
    )


def staff_geojson(data: dict[str, Any]) -> Any:
    """Requests as GeoJSON for staff: each links to its case page; nothing keeps a copy."""
    for feature in data["features"]:
        properties = feature["properties"]
        if "reference" in properties:
            properties["status_label"] = status_label(properties["status"])
            properties["url"] = url_for("casework_case.show", reference=properties["reference"])
    response = geojson_response(data, private=True, max_age=0)
    response.cache_control.no_store = True
    return response


def _translated(names: dict[str, Any]) -> dict[str, str]:
    return {key: str(value) for key, value in names.items()}


# -- bulk actions ---------------------------------------------------------------------------


def _task_ids() -> list[int]:
    raw = request.form.getlist("task")
    if len(raw) > MAX_BULK:
        abort(400)
    try:
        return [int(value) for value in raw]
    except ValueError:
        abort(404)


def _safe_next() -> str:
    target = request.form.get("next", "")
    parts = urlsplit(target)
    if target.startswith("/staff/") and not parts.scheme and not parts.netloc:
        return target
    return url_for("casework_queue.queue")


def _problem(bulk: BulkForm, errors: list[tuple[str, str]]) -> Any:
    return render_template(
        "casework/queue/bulk_problem.html", errors=bulk.problems() + errors, back=_safe_next()
    ), 400


def _failure_message(failure: BulkFailed) -> str:
    from portal.casework.service import CaseError, StaleCase

    reference, error = failure.request.reference, failure.error
    if isinstance(error, InvalidTransition):
        return _(
            "%(reference)s cannot move from %(current)s to %(target)s.",
            reference=reference,
            current=STATUS_NAMES.get(error.current, error.current),
            target=STATUS_NAMES.get(error.target, error.target),
        )
    if isinstance(error, CaseError):
        messages = {
            "assignee": _(
                "The agent you chose does not work in the department of every "
                "selected task (%(reference)s)."
            ),
            "task_closed": _("A selected task of %(reference)s is already closed."),
            "self": _("%(reference)s cannot be a duplicate of itself."),
            "closed": _("The request to keep is closed or is itself a duplicate."),
        }
        if error.code in messages:
            return messages[error.code] % {"reference": reference}
    if isinstance(error, StaleCase | StaleDataError):
        return _(
            "%(reference)s changed while you were working. Nothing was changed; look "
            "at the queue again and retry.",
            reference=reference,
        )
    return _("%(reference)s could not be changed.", reference=reference)


@bp.post("/queue/bulk")
@staff_required()
def bulk() -> Any:
    access = current_staff()
    session = db_session()
    ids = _task_ids()
    bulk = BulkForm()
    bulk.set_choices(assignees=_agents(access))
    if not ids:
        return _problem(bulk, [("", _("Select at least one row."))])
    tasks = tasks_for_bulk(session, task_ids=ids, can_work=access.can_work)
    if tasks is None:
        abort(404)
    if not bulk.validate():
        return _problem(bulk, [])
    action = bulk.action.data
    assignee = into = None
    if action == "assign" and bulk.bulk_assignee.data:
        assignee = session.get(User, int(bulk.bulk_assignee.data))
    if action == "duplicate":
        reference = (bulk.duplicate_of.data or "").strip().upper()
        into = (
            session.scalar(select(ServiceRequest).where(ServiceRequest.reference == reference))
            if reference
            else None
        )
        if into is None or not member_may_open(session, request=into, can_work=access.can_work):
            bulk.duplicate_of.errors = [
                _("Enter the reference of a request you can open, like SR-2026-000123.")
            ]
            return _problem(bulk, [])
    try:
        count = run_bulk(
            session,
            settings=settings(),
            actor=current_user._get_current_object(),
            tasks=tasks,
            action=action,
            assignee=assignee,
            priority=bulk.bulk_priority.data,
            status=bulk.bulk_status.data,
            note=(bulk.note.data or "").strip(),
            into=into,
        )
    except BulkFailed as failure:
        session.rollback()
        return _problem(bulk, [("", _failure_message(failure))])
    flash(_("Done: %(count)s changed.", count=count), "success")
    return redirect(_safe_next())


# The saved views (queue_saved) and the polling endpoint (queue_updates) add their routes to
# ``bp``; portal.app imports them.
