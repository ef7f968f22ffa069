"""Deletes in the back office are confirmed before anything goes (issue 20).

Every staff form that deletes something is drawn by ``confirm_delete`` in
``templates/macros/confirm.html``: a box "Yes, delete <what>" (``confirm=yes``) beside the button
and, with JavaScript (``static/js/confirm.js``), a dialog that asks instead and ticks the box. The
view reads the POST with :class:`ConfirmDeleteForm`; without the box ticked it deletes nothing and
shows the page again, with :func:`unconfirmed`'s message beside the box and a status of 400 (as
for any form sent back with a problem).
"""

from __future__ import annotations

from flask_babel import gettext as _
from flask_wtf import FlaskForm
from wtforms import StringField

#: What the ticked box sends (``name="confirm" value="yes"``).
CONFIRM_VALUE = "yes"


class ConfirmDeleteForm(FlaskForm):
    """The CSRF token (``validate()`` checks it) and the confirmation box."""

    confirm = StringField()

    @property
    def confirmed(self) -> bool:
        return self.confirm.data == CONFIRM_VALUE


def unconfirmed(box_id: str) -> dict[str, str]:
    """The page's confirmation errors when the box ``box_id`` was not ticked: the id (for the
    error summary's link) and the message shown beside the box."""
    return {box_id: _("Nothing was deleted. Tick the box to confirm you want to delete it.")}
