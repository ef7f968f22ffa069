"""The escalations view's filter bar (GET, no CSRF)."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField
from wtforms.fields.choices import SelectChoice

from portal.sla.escalations import STATES
from portal.sla.status import STATE_NAMES

ANY = ("", _l("Any"))


def _choices(pairs: Any) -> list[SelectChoice]:
    return [SelectChoice(str(value), label) for value, label in pairs]


class EscalationFilterForm(FlaskForm):
    """Narrow the escalations to one department or one state. A value that is not
    understood gets a message next to its field and is ignored."""

    class Meta:
        csrf = False  # a GET filter changes nothing

    department = SelectField(_l("Department"), default="", validate_choice=True)
    state = SelectField(
        _l("SLA"),
        default="",
        validate_choice=True,
        choices=_choices([ANY, *((s, _l(STATE_NAMES[s])) for s in STATES)]),
    )

    def set_choices(self, *, departments: list[tuple[int, str]]) -> None:
        self.department.choices = _choices([ANY, *departments])

    def clean(self) -> tuple[int | None, str | None]:
        """Validate and return (department id, state), dropping bad values."""
        self.validate()
        department = (
            None
            if self.department.errors or not self.department.data
            else int(self.department.data)
        )
        state = None if self.state.errors or not self.state.data else self.state.data
        return department, state
