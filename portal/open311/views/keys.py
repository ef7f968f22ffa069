"""Back office: admins make, list and revoke Open311 API keys (``/staff/api-keys``).

A new key is shown once, on the page that answers the form (never stored, never cached:
``Cache-Control: no-store``). Revoking asks for confirmation first.
"""

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
from wtforms import EmailField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from portal.access import ADMIN, staff_required
from portal.auth.models import User
from portal.core import clock
from portal.open311 import keys
from portal.open311.models import ApiKey
from portal.web import db_session

bp = Blueprint("open311_keys", __name__, url_prefix="/staff/api-keys")


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


class ApiKeyForm(FlaskForm):
    label = StringField(
        _l("Who uses the key"),
        filters=[_strip],
        validators=[
            DataRequired(_l("Enter who will use the key")),
            Length(max=keys.LABEL_MAX, message=_l("Keep the name to 120 characters or fewer")),
        ],
    )
    rate_limit = StringField(
        _l("Rate limit"),
        filters=[_strip],
        default=keys.DEFAULT_RATE,
        validators=[DataRequired(_l("Enter a rate limit, like 60/minute"))],
    )
    read_rate_limit = StringField(
        _l("Read rate limit"),
        filters=[_strip],
        default=keys.DEFAULT_READ_RATE,
        # Left empty: the default (a form from before this field existed sends none).
        validators=[Optional()],
    )
    contact_email = EmailField(
        _l("Contact email"),
        filters=[_strip],
        validators=[
            Optional(),
            Length(max=keys.EMAIL_MAX, message=_l("Keep the email to 254 characters or fewer")),
        ],
    )
    allowed_origins = TextAreaField(_l("Web origins of the app"), filters=[_strip])


class OriginsForm(FlaskForm):
    allowed_origins = TextAreaField(_l("Web origins of the app"), filters=[_strip])


class RevokeForm(FlaskForm):
    """Only the CSRF token: revoking is a confirmed POST."""


def _messages() -> dict[tuple[str, str], str]:
    return {
        ("label", "required"): _("Enter who will use the key"),
        ("label", "too_long"): _("Keep the name to 120 characters or fewer"),
        ("rate_limit", "required"): _("Enter a rate limit, like 60/minute"),
        ("rate_limit", "too_long"): _("Keep the rate limit to 60 characters or fewer"),
        ("rate_limit", "invalid"): _("Write the rate limit like 60/minute or 1000/hour;60/minute"),
        ("rate_limit", "zero"): _("A rate limit must allow at least one request"),
        ("read_rate_limit", "too_long"): _("Keep the rate limit to 60 characters or fewer"),
        ("read_rate_limit", "invalid"): _(
            "Write the rate limit like 60/minute or 1000/hour;60/minute"
        ),
        ("read_rate_limit", "zero"): _("A rate limit must allow at least one request"),
        ("contact_email", "invalid"): _(
            "Enter an email address in the right format, like name@example.com"
        ),
        ("contact_email", "too_long"): _("Keep the email to 254 characters or fewer"),
        ("allowed_origins", "too_many"): _("List at most 20 origins"),
        ("allowed_origins", "any"): _(
            "A key lists its app's own origins: * (any origin) is only for the city's list"
        ),
    }


def _origin_message(code: str, origin: str) -> str:
    if code == "too_long":
        return _("“%(origin)s” is too long for a web origin", origin=origin)
    return _(
        "“%(origin)s” is not a web origin: write it like https://app.example.org, with no "
        "path after it",
        origin=origin,
    )


def _show(
    form: ApiKeyForm | OriginsForm, error: keys.ApiKeyError, *, only_quiet_fields: bool = False
) -> None:
    """The key's own rules' messages next to their fields (with ``only_quiet_fields``, only
    where the form found nothing wrong already)."""
    messages = _messages()
    for name, code in error.errors.items():
        field = form[name]
        if not (only_quiet_fields and field.errors):
            message = messages.get((name, code)) or _origin_message(
                code, error.details.get(name, "")
            )
            field.errors = [*field.errors, message]


def _actor() -> User:
    return current_user._get_current_object()  # type: ignore[attr-defined]


def _before() -> int | None:
    raw = request.args.get("before", "")
    return int(raw) if raw.isdigit() and len(raw) <= 18 else None


@bp.get("/")
@staff_required(ADMIN)
def index() -> str:
    page = keys.list_keys(db_session(), before=_before())
    return render_template("open311/keys/keys.html", page=page, first=_before() is None)


@bp.route("/new", methods=["GET", "POST"])
@staff_required(ADMIN)
def new() -> Any:
    form = ApiKeyForm()
    if form.validate_on_submit():
        try:
            key, raw = keys.new_key(
                db_session(),
                label=form.label.data or "",
                rate_limit=form.rate_limit.data or "",
                read_rate_limit=form.read_rate_limit.data or keys.DEFAULT_READ_RATE,
                contact_email=form.contact_email.data or "",
                by=_actor(),
                allowed_origins=form.allowed_origins.data or "",
            )
        except keys.ApiKeyError as exc:
            _show(form, exc)
        else:
            response = make_response(
                render_template("open311/keys/key_created.html", key=key, raw=raw), 201
            )
            response.headers["Cache-Control"] = "no-store"
            response.headers["Pragma"] = "no-cache"
            return response
    elif request.method == "POST":
        # Every mistake at once: the key's own rules are checked even when the form was not.
        try:
            keys.clean_input(
                form.label.data or "", form.rate_limit.data or "", form.contact_email.data or ""
            )
        except keys.ApiKeyError as exc:
            _show(form, exc, only_quiet_fields=True)
        read_rate = form.read_rate_limit.data or keys.DEFAULT_READ_RATE
        if problem := keys.check_rate_limit(read_rate):
            _show(form, keys.ApiKeyError({"read_rate_limit": problem}), only_quiet_fields=True)
        try:
            keys.clean_origins(form.allowed_origins.data or "")
        except keys.ApiKeyError as exc:
            _show(form, exc, only_quiet_fields=True)
    status = 400 if request.method == "POST" else 200
    return render_template("open311/keys/key_form.html", form=form), status


def _key_or_404(key_id: int) -> ApiKey:
    key = keys.get_key(db_session(), key_id)
    if key is None:
        abort(404)
    return key


@bp.route("/<int:key_id>/revoke", methods=["GET", "POST"])
@staff_required(ADMIN)
def revoke(key_id: int) -> Any:
    key = _key_or_404(key_id)
    form = RevokeForm()
    if form.validate_on_submit():
        if keys.revoke(db_session(), key, by=_actor(), now=clock.now()):
            flash(
                _("The key for %(label)s is revoked: it no longer works.", label=key.label),
                "success",
            )
        else:
            flash(_("The key for %(label)s was already revoked.", label=key.label), "info")
        return redirect(url_for("open311_keys.index"))
    status = 400 if request.method == "POST" else 200
    return render_template("open311/keys/key_revoke.html", key=key, form=form), status


@bp.route("/<int:key_id>/origins", methods=["GET", "POST"])
@staff_required(ADMIN)
def origins(key_id: int) -> Any:
    """The web origins of the app using a key (CORS: it may read and file from there)."""
    key = _key_or_404(key_id)
    if key.revoked_at is not None:
        abort(404)
    form = OriginsForm()
    if request.method == "GET":
        form.allowed_origins.data = key.allowed_origins
    elif form.validate_on_submit():
        try:
            changed = keys.set_origins(
                db_session(), key, form.allowed_origins.data or "", by=_actor(), now=clock.now()
            )
        except keys.ApiKeyError as exc:
            _show(form, exc)
        else:
            if changed:
                flash(_("The web origins for %(label)s are saved.", label=key.label), "success")
            return redirect(url_for("open311_keys.index"))
    status = 400 if request.method == "POST" else 200
    return render_template("open311/keys/key_origins.html", key=key, form=form), status
