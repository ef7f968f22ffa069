"""Forms of the staff queues: the filter bar (GET, no CSRF) and the bulk actions (POST)."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from portal.casework.queues import CASE_MARKS, MAX_AGE_DAYS, SLA_FILTERS, Filters
from portal.casework.saved_views import MAX_NAME
from portal.requests.labels import CHANNEL_NAMES as CHANNEL_IDS
from portal.requests.models import CHANNELS, PRIORITIES, STATUSES
from portal.requests.updates import MAX_MESSAGE
from portal.sla.status import STATE_NAMES
from portal.templating import PRIORITY_NAMES

ANY = ("", _l("Any"))


def _choices(pairs: Any) -> list[SelectChoice]:
    return [SelectChoice(str(value), label) for value, label in pairs]


CHANNEL_NAMES = {code: _l(name) for code, name in CHANNEL_IDS.items()}
#: Status names as staff say them (residents see portal.requests.labels.STATUS_NAMES).
STATUS_NAMES = {
    "new": _l("New"),
    "acknowledged": _l("Acknowledged"),
    "in_progress": _l("In progress"),
    "waiting_on_resident": _l("Waiting on resident"),
    "waiting_on_third_party": _l("Waiting on a third party"),
    "scheduled": _l("Scheduled"),
    "resolved": _l("Resolved"),
    "closed": _l("Closed"),
    "rejected": _l("Rejected"),
    "duplicate": _l("Duplicate"),
}
#: The SLA filter's choices, worded as the tags in the SLA column.
SLA_NAMES = {state: _l(STATE_NAMES[state]) for state in SLA_FILTERS}
QUEUE_NAMES = {"escalation": _l("Escalation queue"), "main": _l("Main queue")}
#: The marks the queue filter offers (when the feature registered them).
MARK_NAMES = {"possible_duplicates": _l("Possible duplicates")}
SORT_NAMES = {
    "due": _l("Due time (soonest first)"),
    "newest": _l("Newest first"),
    "age": _l("Age (oldest first)"),
    "priority": _l("Priority (most urgent first)"),
}


_DAYS = _l("Enter a number of days from 1 to 3650.")


class _Days(IntegerField):
    """A whole number of days; anything else gets one clear message."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError as exc:
            raise ValueError(_DAYS) from exc


def _days_in_range(form: Any, field: Any) -> None:
    if field.data is not None and not 1 <= field.data <= MAX_AGE_DAYS:
        raise ValidationError(_DAYS)


def _select(label: Any, **kw: Any) -> SelectField:
    return SelectField(label, default="", validate_choice=True, **kw)


class QueueFilterForm(FlaskForm):
    """Narrow a queue. Read from the query string; a value that is not understood gets a
    message next to its field and is ignored."""

    class Meta:
        csrf = False

    department = _select(_l("Department"))
    status = _select(_l("Status"))
    category = _select(_l("Category"))
    area = _select(_l("Area"))
    priority = _select(_l("Priority"))
    channel = _select(_l("Channel"))
    assignee = _select(_l("Assigned to"))
    sla = SelectField(
        _l("SLA"), default="", validate_choice=True, choices=_choices([ANY, *SLA_NAMES.items()])
    )
    queue = SelectField(
        _l("Queue"), default="", validate_choice=True, choices=_choices([ANY, *QUEUE_NAMES.items()])
    )
    #: Cases a higher feature marked (``CASE_MARKS``; choices from ``MARK_NAMES``).
    mark = _select(_l("Suggestions"))
    age = _Days(
        _l("Older than (days)"),
        validators=[Optional(), _days_in_range],
    )
    #: The tab's sort when none is asked for comes in as ``sort=`` (``DEFAULT_SORTS``).
    sort = SelectField(
        _l("Sort by"), default="due", validate_choice=True, choices=_choices(SORT_NAMES.items())
    )

    def set_choices(
        self,
        *,
        departments: list[tuple[int, str]],
        categories: list[tuple[int, str]],
        areas: list[tuple[int, str]],
        assignees: list[tuple[int, str]],
        department_any: bool,
    ) -> None:
        self.department.choices = _choices(([ANY] if department_any else []) + departments)
        self.status.choices = _choices([ANY] + [(s, STATUS_NAMES[s]) for s in STATUSES])
        self.category.choices = _choices([ANY] + categories)
        self.area.choices = _choices([ANY] + areas)
        self.priority.choices = _choices([ANY] + [(p, PRIORITY_NAMES[p]) for p in PRIORITIES])
        self.channel.choices = _choices([ANY] + [(c, CHANNEL_NAMES[c]) for c in CHANNELS])
        self.assignee.choices = _choices([ANY, ("none", _l("Nobody"))] + assignees)
        self.mark.choices = _choices(
            [ANY] + [(m, MARK_NAMES[m]) for m in MARK_NAMES if m in CASE_MARKS]
        )

    def clean(self) -> tuple[Filters, int | None, str]:
        """Validate and return (filters, department id, sort), dropping bad values."""
        self.validate()

        def ok(field: Any) -> Any:
            return None if field.errors or field.data in ("", None) else field.data

        if self.sort.errors:
            self.sort.data = self.sort.object_data or "due"
        assignee = ok(self.assignee)
        department = ok(self.department)
        filters = Filters(
            status=ok(self.status),
            category_id=int(ok(self.category)) if ok(self.category) else None,
            area_id=int(ok(self.area)) if ok(self.area) else None,
            priority=ok(self.priority),
            older_than_days=ok(self.age),
            channel=ok(self.channel),
            assignee="none" if assignee == "none" else (int(assignee) if assignee else None),
            sla=ok(self.sla),
            queue=ok(self.queue),
            mark=ok(self.mark),
        )
        return filters, int(department) if department else None, self.sort.data or "due"

    @property
    def has_errors(self) -> bool:
        return any(field.errors for field in self)


class ActionForm(FlaskForm):
    """A button with nothing but the CSRF token."""


class SaveViewForm(FlaskForm):
    """Name the queue as it is filtered now; the tab and filters come as hidden fields."""

    name = StringField(
        _l("Name of this view"),
        validators=[
            InputRequired(_l("Enter a name for the view, like “Potholes due this week”.")),
            Length(max=MAX_NAME, message=_l("Keep the name to 60 characters or fewer.")),
        ],
    )
    view = HiddenField()
    query = HiddenField()


class BulkForm(FlaskForm):
    """Do one thing to every selected row. The rows are ``task`` checkboxes in the table."""

    action = SelectField(
        _l("Action"),
        validate_choice=True,
        choices=_choices(
            [
                ("assign", _l("Assign to")),
                ("priority", _l("Change priority")),
                ("status", _l("Change status")),
                ("duplicate", _l("Close as duplicate of")),
            ]
        ),
    )
    bulk_assignee = SelectField(_l("Agent"), default="", validate_choice=True)
    bulk_priority = SelectField(
        _l("Priority"),
        validate_choice=True,
        choices=_choices(PRIORITY_NAMES.items()),
        default="normal",
    )
    bulk_status = SelectField(_l("Status"), validate_choice=True)
    note = TextAreaField(
        _l("Note to the resident with the status change"),
        validators=[
            Optional(),
            Length(max=MAX_MESSAGE, message=_l("Keep your note to 2000 characters or fewer.")),
        ],
    )
    duplicate_of = StringField(
        _l("Reference of the request to keep"),
        validators=[
            Optional(),
            Length(max=40, message=_l("A reference is shorter than that, like SR-2026-000123.")),
        ],
    )

    def set_choices(self, *, assignees: list[tuple[int, str]]) -> None:
        self.bulk_assignee.choices = _choices([("", _l("Nobody (back to the queue)"))] + assignees)
        self.bulk_status.choices = _choices(
            (s, STATUS_NAMES[s]) for s in STATUSES if s != "duplicate"
        )

    #: The field each action reads (the others keep whatever they were rendered with).
    ACTION_FIELDS = {
        "assign": ("bulk_assignee",),
        "priority": ("bulk_priority",),
        "status": ("bulk_status", "note"),
        "duplicate": ("duplicate_of",),
    }

    def validate(self, extra_validators: Any = None) -> bool:
        super().validate(extra_validators)
        used = {"csrf_token", "action", *self.ACTION_FIELDS.get(self.action.data, ())}
        for field in self:
            if field.name not in used:
                field.errors = []
        return not any(field.errors for field in self)

    def problems(self) -> list[tuple[str, str]]:
        """Every error as ("", "Field: message") for a page without the form on it."""
        return [
            ("", f"{field.label.text}: {error}")
            for field in self
            for error in field.errors
            if field.name != "csrf_token"
        ]
