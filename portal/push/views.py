"""Turning notifications on and off for a device (JSON, from static/js/push.js, with the CSRF
token in the X-CSRFToken header), and removing a device from the account's settings."""

from __future__ import annotations

import json

from flask import Blueprint, Response, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from portal.confirm import ConfirmDeleteForm
from portal.extensions import limiter
from portal.i18n import current_locale
from portal.push import subscriptions
from portal.requests import queries
from portal.web import db_session, settings

bp = Blueprint("push", __name__)


def _answer(body: dict[str, object], status: int = 200) -> Response:
    response = Response(json.dumps(body), status=status, mimetype="application/json")
    response.cache_control.no_store = True
    return response


def _problem(message: str, field: str = "", status: int = 400) -> Response:
    return _answer({"error": message, "field": field}, status)


def _user_id() -> int | None:
    return current_user.id if current_user.is_authenticated else None


@bp.post("/push/subscribe")
@limiter.limit("30 per hour", methods=["POST"])
def subscribe() -> Response:
    """``{"subscription": PushSubscription.toJSON(), "request": "<reference>" or absent}``:
    a signed-in resident's device, or (anyone) a device following one public request."""
    config = settings()
    if not config.vapid_public_key:
        return _problem(_("Notifications are not available."), status=404)
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        return _problem(_("Send the subscription as JSON."))
    request_id = None
    reference = data.get("request")
    if reference is not None:
        canonical = queries.normalise_reference(str(reference)[:60], config.reference_prefix)
        sr = queries.request_by_reference(db_session(), canonical) if canonical else None
        own = sr is not None and sr.reporter_id is not None and sr.reporter_id == _user_id()
        if sr is None or not (sr.is_public or own):
            return _problem(_("There is no public request with this reference."), "request", 404)
        request_id = sr.id
    elif _user_id() is None:
        return _problem(_("Sign in, or turn notifications on from a request's page."), status=403)
    try:
        info = subscriptions.parse_subscription(config, data.get("subscription"))
    except subscriptions.BadSubscription as exc:
        return _problem(_(exc.message), exc.field)
    device = subscriptions.subscribe(
        db_session(),
        settings=config,
        info=info,
        user_id=_user_id(),
        request_id=request_id,
        language=current_locale(),
        user_agent=request.headers.get("User-Agent", ""),
    )
    return _answer({"subscribed": True, "device": device.device_label}, 201)


@bp.post("/push/unsubscribe")
@limiter.limit("30 per hour", methods=["POST"])
def unsubscribe() -> Response:
    """``{"endpoint": "..."}``: the device's own endpoint is the key to forget it."""
    data = request.get_json(silent=True)
    endpoint = data.get("endpoint") if isinstance(data, dict) else None
    if not isinstance(endpoint, str) or not endpoint:
        return _problem(_("Send the endpoint to unsubscribe."), "endpoint")
    removed = subscriptions.unsubscribe(db_session(), endpoint=endpoint[:2000])
    return _answer({"removed": removed})


@bp.post("/account/devices/<int:device_id>/remove")
@login_required
def remove_device(device_id: int):
    form = ConfirmDeleteForm()
    if not form.validate():
        abort(400)
    if not form.confirmed:
        flash(_("Nothing was removed. Tick the box to confirm."), "error")
        return redirect(url_for("auth.account", _anchor="devices"))
    if not subscriptions.remove_device(
        db_session(), user_id=current_user.id, subscription_id=device_id
    ):
        abort(404)
    flash(_("Notifications on that device are turned off."), "success")
    return redirect(url_for("auth.account", _anchor="devices"))
