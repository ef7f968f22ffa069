"""Forms of the case page. Every case action carries the case version it was rendered with
(``version``) and the newest timeline entry the editor saw (``seen``), for edit conflicts.

Field names differ between forms so each input on the page has a unique id; the per-task
forms get their ids from ``ids_for`` (the page holds one of each per task).
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from portal.casework.service import MAX_TITLE
from portal.requests.models import PRIORITIES, STATUSES
from portal.requests.updates import MAX_MESSAGE

_TOO_LONG = _l("Keep it to 2000 characters or fewer.")


class CaseForm(FlaskForm):
    version = IntegerField(validators=[Optional()])
    seen = IntegerField(validators=[Optional()])


class AcknowledgeForm(CaseForm):
    pass


class PriorityForm(CaseForm):
    priority = SelectField(
        _l("Priority"),
        choices=[SelectChoice(p) for p in PRIORITIES],
        validators=[InputRequired(_l("Choose a priority."))],
    )


class CategoryForm(CaseForm):
    category = SelectField(
        _l("Category"), coerce=int, validators=[InputRequired(_l("Choose a category."))]
    )


class StatusForm(CaseForm):
    target = SelectField(
        _l("New status"),
        choices=[SelectChoice(s) for s in STATUSES],
        validators=[InputRequired(_l("Choose the new status."))],
    )
    status_note = TextAreaField(
        _l("Note for the resident"), validators=[Length(max=MAX_MESSAGE, message=_TOO_LONG)]
    )


class ReplyForm(CaseForm):
    template = SelectField(
        _l("Response template"), coerce=str, validate_choice=False, choices=[SelectChoice("")]
    )
    body = TextAreaField(
        _l("Message to the resident"), validators=[Length(max=MAX_MESSAGE, message=_TOO_LONG)]
    )


#: What the composer writes: a public reply, an internal note, or a question to the resident.
COMPOSE_KINDS = ("reply", "note", "question")


class ComposeForm(CaseForm):
    """The case page's one composer: ``kind`` says what the message is (radios: tabs with
    JavaScript, a plain choice without); the same response templates in every kind."""

    kind = RadioField(
        _l("What are you writing?"),
        choices=[
            SelectChoice("reply", _l("Public reply")),
            SelectChoice("note", _l("Internal note")),
            SelectChoice("question", _l("Question to the resident")),
        ],
        default="reply",
        validators=[InputRequired(_l("Choose what you are writing."))],
    )
    template = SelectField(
        _l("Response template"), coerce=str, validate_choice=False, choices=[SelectChoice("")]
    )
    message = TextAreaField(_l("Message"), validators=[Length(max=MAX_MESSAGE, message=_TOO_LONG)])


class NoteForm(CaseForm):
    note = TextAreaField(
        _l("Internal note"),
        validators=[
            DataRequired(_l("Enter the note.")),
            Length(max=MAX_MESSAGE, message=_TOO_LONG),
        ],
    )


class QuestionForm(CaseForm):
    question = TextAreaField(
        _l("Question for the resident"),
        validators=[
            DataRequired(_l("Enter your question.")),
            Length(max=MAX_MESSAGE, message=_TOO_LONG),
        ],
    )


class MergeForm(CaseForm):
    into = StringField(
        _l("Reference of the request to keep"),
        validators=[
            DataRequired(_l("Enter the reference of the request to keep, like SR-2026-000123.")),
            Length(max=40, message=_l("A reference is shorter than that, like SR-2026-000123.")),
        ],
    )


class NotDuplicateForm(CaseForm):
    """ "Not a duplicate" on a possible duplicate of the case (``portal.assist.duplicates``)."""

    candidate = IntegerField(validators=[InputRequired(_l("Choose a possible duplicate."))])


class ReopenForm(CaseForm):
    reopen_note = TextAreaField(
        _l("Note for the resident"), validators=[Length(max=MAX_MESSAGE, message=_TOO_LONG)]
    )


class PlaceForm(CaseForm):
    """Place a case whose address was not found: an address (a chosen suggestion fills
    ``point``; without JavaScript the text is searched) or coordinates."""

    address = StringField(
        _l("Address"),
        validators=[Length(max=300, message=_l("Keep the address to 300 characters or fewer."))],
    )
    point = StringField(validators=[Length(max=20)])
    #: Without JavaScript: which of the matches offered was chosen.
    choice = StringField(validators=[Length(max=8)])
    lat = StringField(_l("Latitude"), validators=[Length(max=32)])
    lon = StringField(_l("Longitude"), validators=[Length(max=32)])


class AddTaskForm(CaseForm):
    department = SelectField(
        _l("Department"), coerce=int, validators=[InputRequired(_l("Choose a department."))]
    )
    title = StringField(
        _l("What needs doing"),
        validators=[
            DataRequired(_l("Say what the department needs to do.")),
            Length(max=MAX_TITLE, message=_l("Keep it to 200 characters or fewer.")),
        ],
    )


class AssignForm(CaseForm):
    assignee = SelectField(_l("Assign to"), coerce=str)


class CompleteForm(CaseForm):
    done_note = TextAreaField(
        _l("Internal note"), validators=[Length(max=MAX_MESSAGE, message=_TOO_LONG)]
    )


class CancelForm(CaseForm):
    cancel_note = TextAreaField(
        _l("Why cancel it"), validators=[Length(max=MAX_MESSAGE, message=_TOO_LONG)]
    )


class TransferForm(CaseForm):
    to_department = SelectField(
        _l("Transfer to"), coerce=int, validators=[InputRequired(_l("Choose a department."))]
    )
    reason = TextAreaField(
        _l("Reason"),
        validators=[
            DataRequired(_l("Give the reason for the transfer.")),
            Length(max=MAX_MESSAGE, message=_TOO_LONG),
        ],
    )


def ids_for(form: FlaskForm, prefix: str) -> FlaskForm:
    """Give the form's fields ids unique on the page (names stay as they are)."""
    for field in form:
        field.id = f"{prefix}-{field.name}"
        field.label.field_id = field.id
    return form
