"""Saved views of the staff queues: name the current filter, delete one (each member their own).

Routes on the queue blueprint (``portal.casework.views.queue.bp``).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _

from portal.access import current_staff, staff_required
from portal.casework.saved_views import (
    MAX_PER_USER,
    SavedViewError,
    clean_query,
    delete_view,
    save_view,
)
from portal.casework.views.queue import ENDPOINTS, _safe_next, _saved_url, bp
from portal.casework.views.queue_forms import ActionForm, SaveViewForm
from portal.core import clock
from portal.requests.queries import MAX_ID
from portal.web import db_session


def _back_to(view: str, query: str) -> str:
    endpoint = ENDPOINTS.get(view, "casework_queue.queue")
    return url_for(endpoint, **dict(parse_qsl(query)))


@bp.post("/queue/views")
@staff_required()
def save() -> Any:
    form = SaveViewForm()
    view = form.view.data if form.view.data in ENDPOINTS else "mine"
    if view == "all" and not current_staff().is_admin:
        view = "mine"
    query = clean_query(parse_qsl(form.query.data or ""))
    back = _back_to(view, query)
    if form.validate_on_submit():
        try:
            saved = save_view(
                db_session(),
                user_id=current_staff().user_id,
                name=form.name.data or "",
                view=view,
                pairs=parse_qsl(query),
                now=clock.now(),
            )
        except SavedViewError as exc:
            form.name.errors = [
                {
                    "taken": _("You already have a view with that name. Choose another name."),
                    "full": _(
                        "You have %(num)s saved views, the most there can be. Delete one first.",
                        num=MAX_PER_USER,
                    ),
                }.get(exc.code, _("Enter a name for the view, like “Potholes due this week”."))
            ]
        else:
            flash(_("Saved the view “%(name)s”.", name=saved.name), "success")
            return redirect(_saved_url(saved))
    elif form.csrf_token.errors:
        abort(400)
    form.view.data, form.query.data = view, query
    return render_template("casework/queue/save_view.html", form=form, back=back), 400


@bp.post("/queue/views/<int:view_id>/delete")
@staff_required()
def delete(view_id: int) -> Any:
    if not ActionForm().validate_on_submit():
        abort(400)
    if view_id > MAX_ID:
        abort(404)
    name = delete_view(db_session(), user_id=current_staff().user_id, view_id=view_id)
    if name is None:
        abort(404)
    flash(_("Deleted the view “%(name)s”.", name=name), "success")
    return redirect(_safe_next())
