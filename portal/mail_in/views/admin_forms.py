"""The mail page's filter bar (GET, no CSRF)."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField
from wtforms.fields.choices import SelectChoice

from portal.mail_in.models import MAIL_STATES

ANY = ("", _l("Any"))

STATE_NAMES = {
    "received": _l("Received, not processed yet"),
    "processed": _l("Processed"),
    "failed": _l("Failed, will be tried again"),
    "parked": _l("Parked: needs a person"),
}

#: What processing did, in words (an outcome not named here is shown as it is stored).
OUTCOME_NAMES = {
    "comment": _l("Comment from the resident"),
    "answer": _l("Answer to a staff question"),
    "staff_reply": _l("Public reply from staff"),
    "internal_note": _l("Internal note from staff"),
    "review_note": _l("Note to review (unknown sender)"),
    "reopened": _l("Reopened the case"),
    "closed_note": _l("Note on a closed case"),
    "new_request": _l("New request"),
    "unmatched": _l("Matched no case"),
    "unknown_case": _l("Unknown case"),
    "forged_token": _l("Forged reply address"),
    "no_sender": _l("No sender"),
    "empty": _l("Empty reply"),
    "refused": _l("Refused"),
    "auto_reply": _l("Automatic reply (ignored)"),
    "bounce": _l("Bounce or delivery report (ignored)"),
    "looped": _l("Our own mail (ignored)"),
    "duplicate": _l("Duplicate (ignored)"),
    "rate_limited": _l("Too many from this sender"),
    "parked": _l("Parked"),
}


def _choices(pairs: Any) -> list[SelectChoice]:
    return [SelectChoice(str(value), label) for value, label in pairs]


class MailFilterForm(FlaskForm):
    """Narrow the list to one state or one outcome. A value that is not understood gets a
    message next to its field and is ignored."""

    class Meta:
        csrf = False  # a GET filter changes nothing

    state = SelectField(
        _l("State"),
        default="",
        validate_choice=True,
        choices=_choices([ANY, *((s, STATE_NAMES[s]) for s in MAIL_STATES)]),
    )
    outcome = SelectField(
        _l("Outcome"),
        default="",
        validate_choice=True,
        choices=_choices([ANY, *OUTCOME_NAMES.items()]),
    )

    def clean(self) -> tuple[str | None, str | None]:
        """Validate and return (state, outcome), dropping bad values."""
        self.validate()
        state = None if self.state.errors or not self.state.data else self.state.data
        outcome = None if self.outcome.errors or not self.outcome.data else self.outcome.data
        return state, outcome
