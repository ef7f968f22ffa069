"""Back office: admins register webhook endpoints (``/staff/webhooks``), choose their events,
see and rotate the signing secret, send a test event and read each endpoint's delivery log.

The secret is shown on a page of its own after an explicit POST (audited, ``no-store``)."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectMultipleField, StringField
from wtforms.validators import StopValidation
from wtforms.widgets import CheckboxInput, ListWidget

from portal.access import ADMIN, staff_required
from portal.auth.models import User
from portal.core import clock
from portal.web import db_session, settings
from portal.webhooks import events, service
from portal.webhooks.models import WebhookEndpoint

bp = Blueprint("webhooks_admin", __name__, url_prefix="/staff/webhooks")

EVENT_LABELS = {
    events.REQUEST_CREATED: _l("A request is filed"),
    events.STATUS_CHANGED: _l("A request's status changes"),
    events.TASK_ADDED: _l("A task is added to a request"),
    events.TASK_DONE: _l("A task is done"),
    events.COMMENT_ADDED: _l("A public comment is added"),
    events.TEST: _l("Test event"),
}
STATE_LABELS = {
    "pending": _l("Waiting"),
    "delivered": _l("Delivered"),
    "failed": _l("Failed"),
}


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


class EventsField(SelectMultipleField):
    """Checkboxes; a value not among the choices is a form error, never a crash."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def pre_validate(self, form: Any) -> None:
        allowed = {value for value, _label in self.choices or []}  # type: ignore[misc]
        if any(value not in allowed for value in self.data or []):
            raise StopValidation(_l("Choose events from the list"))


class EndpointForm(FlaskForm):
    url = StringField(_l("Endpoint URL"), filters=[_strip])
    description = StringField(_l("Description"), filters=[_strip])
    events = EventsField(_l("Events to send"), choices=[])
    active = BooleanField(_l("Send events to this endpoint"), default=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.events.choices = [(e, EVENT_LABELS[e]) for e in events.EVENT_TYPES]
        self.url.flags.required = True


class ActionForm(FlaskForm):
    """Only the CSRF token: each action is a POST from a button."""


def _messages() -> dict[tuple[str, str], str]:
    return {
        ("url", "required"): _("Enter the endpoint's URL"),
        ("url", "too_long"): _("Keep the URL to 2,000 characters or fewer"),
        ("url", "invalid"): _("Enter a URL like https://example.com/webhooks"),
        ("url", "scheme"): _("The URL must start with https://"),
        ("url", "private"): _(
            "The URL must be on the internet: addresses on this machine or a private network "
            "are not allowed"
        ),
        ("description", "too_long"): _("Keep the description to 200 characters or fewer"),
        ("events", "unknown"): _("Choose events from the list"),
    }


def _show(form: EndpointForm, error: service.EndpointError) -> None:
    messages = _messages()
    for name, code in error.errors.items():
        field = form[name]
        if messages[(name, code)] not in field.errors:
            field.errors = [*field.errors, messages[(name, code)]]


def _actor() -> User:
    return current_user._get_current_object()  # type: ignore[attr-defined]


def _endpoint_or_404(endpoint_id: int) -> WebhookEndpoint:
    endpoint = service.get_endpoint(db_session(), endpoint_id)
    if endpoint is None:
        abort(404)
    return endpoint


def _before() -> int | None:
    raw = request.args.get("before", "")
    return int(raw) if raw.isdigit() and len(raw) <= 18 else None


def _secret_page(endpoint: WebhookEndpoint, *, status: int = 200, new: bool = False) -> Any:
    response = make_response(
        render_template("webhooks/secret.html", endpoint=endpoint, new=new), status
    )
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


@bp.get("/")
@staff_required(ADMIN)
def index() -> str:
    endpoints = service.list_endpoints(db_session())
    return render_template("webhooks/index.html", endpoints=endpoints, event_labels=EVENT_LABELS)


def _save(form: EndpointForm, endpoint: WebhookEndpoint | None) -> Any:
    fields = {
        "settings": settings(),
        "url": form.url.data or "",
        "description": form.description.data or "",
        "event_types": list(form.events.data or []),
        "active": bool(form.active.data),
        "by": _actor(),
        "now": clock.now(),
    }
    try:
        if endpoint is None:
            return service.create_endpoint(db_session(), **fields)
        service.update_endpoint(db_session(), endpoint, **fields)
        return endpoint
    except service.EndpointError as exc:
        _show(form, exc)
        return None


@bp.route("/new", methods=["GET", "POST"])
@staff_required(ADMIN)
def new() -> Any:
    form = EndpointForm()
    if form.validate_on_submit():
        endpoint = _save(form, None)
        if endpoint is not None:
            return _secret_page(endpoint, status=201, new=True)
    elif request.method == "POST":
        _save_errors(form)
    status = 400 if request.method == "POST" else 200
    return render_template("webhooks/form.html", form=form, endpoint=None), status


def _save_errors(form: EndpointForm) -> None:
    """Every mistake at once: the endpoint's own rules too, where the form found none."""
    try:
        service.clean(
            settings(),
            url=form.url.data or "",
            description=form.description.data or "",
            event_types=[],
        )
    except service.EndpointError as exc:
        _show(form, exc)


@bp.route("/<int:endpoint_id>/edit", methods=["GET", "POST"])
@staff_required(ADMIN)
def edit(endpoint_id: int) -> Any:
    endpoint = _endpoint_or_404(endpoint_id)
    form = EndpointForm(obj=None if request.method == "POST" else endpoint)
    if request.method == "GET":
        form.events.data = list(endpoint.events or [])
    if form.validate_on_submit():
        if _save(form, endpoint) is not None:
            flash(_("The endpoint is saved."), "success")
            return redirect(url_for("webhooks_admin.show", endpoint_id=endpoint.id))
    elif request.method == "POST":
        _save_errors(form)
    status = 400 if request.method == "POST" else 200
    return render_template("webhooks/form.html", form=form, endpoint=endpoint), status


@bp.get("/<int:endpoint_id>")
@staff_required(ADMIN)
def show(endpoint_id: int) -> str:
    endpoint = _endpoint_or_404(endpoint_id)
    page = service.list_deliveries(db_session(), endpoint.id, before=_before())
    return render_template(
        "webhooks/endpoint.html",
        endpoint=endpoint,
        page=page,
        first=_before() is None,
        form=ActionForm(),
        event_labels=EVENT_LABELS,
        state_labels=STATE_LABELS,
    )


@bp.post("/<int:endpoint_id>/secret")
@staff_required(ADMIN)
def secret(endpoint_id: int) -> Any:
    endpoint = _endpoint_or_404(endpoint_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    service.record_secret_shown(db_session(), endpoint, by=_actor(), now=clock.now())
    return _secret_page(endpoint)


@bp.route("/<int:endpoint_id>/rotate", methods=["GET", "POST"])
@staff_required(ADMIN)
def rotate(endpoint_id: int) -> Any:
    endpoint = _endpoint_or_404(endpoint_id)
    form = ActionForm()
    if form.validate_on_submit():
        service.rotate_secret(db_session(), endpoint, by=_actor(), now=clock.now())
        return _secret_page(endpoint, new=True)
    status = 400 if request.method == "POST" else 200
    return render_template("webhooks/rotate.html", endpoint=endpoint, form=form), status


@bp.post("/<int:endpoint_id>/test")
@staff_required(ADMIN)
def send_test(endpoint_id: int) -> Any:
    endpoint = _endpoint_or_404(endpoint_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    service.send_test(db_session(), endpoint, now=clock.now())
    flash(_("A test event is on its way: its delivery is at the top of the log."), "success")
    return redirect(url_for("webhooks_admin.show", endpoint_id=endpoint.id))


@bp.post("/<int:endpoint_id>/deliveries/<int:delivery_id>/redeliver")
@staff_required(ADMIN)
def redeliver(endpoint_id: int, delivery_id: int) -> Any:
    endpoint = _endpoint_or_404(endpoint_id)
    delivery = service.get_delivery(db_session(), endpoint.id, delivery_id)
    if delivery is None:
        abort(404)
    if not ActionForm().validate_on_submit():
        abort(400)
    if service.redeliver(db_session(), delivery):
        flash(_("The event will be sent again."), "success")
    else:
        flash(_("This delivery is still waiting to be sent."), "info")
    return redirect(url_for("webhooks_admin.show", endpoint_id=endpoint.id))
