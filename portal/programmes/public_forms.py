"""Forms of the residents' programme pages, and the words for programme codes.

The eligibility questions are drawn from the programme (like a category's questions on the
filing form), not declared here.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import Length

KIND_NAMES = {
    "academy": _l("Academy"),
    "liaison": _l("Liaison programme"),
    "workshop": _l("Workshop"),
    "course": _l("Course"),
    "event": _l("Event"),
}
TOPIC_NAMES = {
    "civic": _l("Civic life"),
    "safety": _l("Public safety"),
    "environment": _l("Environment"),
    "housing": _l("Housing"),
    "youth": _l("Youth"),
    "seniors": _l("Seniors"),
    "health": _l("Health"),
    "business": _l("Business"),
    "arts": _l("Arts and culture"),
}
STATE_NAMES = {
    "applied": _l("Application received"),
    "enrolled": _l("Enrolled"),
    "waitlisted": _l("On the waitlist"),
    "offered": _l("Place offered"),
    "cancelled": _l("Cancelled"),
    "rejected": _l("Not accepted"),
}
STATE_CLASSES = {
    "applied": "bg-accent-cool-darker",
    "enrolled": "bg-green",
    "waitlisted": "bg-gold text-ink",
    "offered": "bg-secondary-dark",
    "cancelled": "bg-base-dark",
    "rejected": "bg-base-darker",
}
STATUS_NAMES = {
    "draft": _l("Draft"),
    "open": _l("Open"),
    "closed": _l("Enrolment closed"),
    "completed": _l("Completed"),
    "cancelled": _l("Cancelled"),
}
CANCEL_REASON_NAMES = {
    "resident": _l("You cancelled your place."),
    "coordinator": _l("The coordinator cancelled your place."),
    "offer_expired": _l("The place we offered you was not accepted in time."),
    "offer_declined": _l("You declined the place we offered you."),
    "programme_cancelled": _l("The programme was cancelled."),
    "capacity": _l("The programme has fewer places now."),
}
#: Why a resident cannot enrol (``service.can_enrol`` / ``ProgrammeError.code``).
REFUSAL_MESSAGES = {
    "not_open": _l("This programme is not taking enrolments."),
    "window_closed": _l("Enrolment for this programme is closed."),
    "not_yet": _l("Enrolment for this programme has not opened yet."),
    "already_enrolled": _l("You have already signed up for this programme."),
    "bad_state": _l("That is not possible at this stage of your enrolment."),
    "offer_expired": _l("The time to accept this place has passed, so it was offered to "
                        "the next person on the waitlist."),
    "full": _l("This programme is full."),
    "invalid": _l("Check your answers and try again."),
}


class ProgrammeFilterForm(FlaskForm):
    """Narrow the list of programmes (a GET form: it changes nothing, so no CSRF)."""

    class Meta:
        csrf = False

    q = StringField(_l("Search by title"), validators=[Length(max=100)])
    area = SelectField(_l("Neighbourhood"), default="", validate_choice=False)
    topic = SelectField(_l("Topic"), default="", validate_choice=False)
    kind = SelectField(_l("Kind of programme"), default="", validate_choice=False)
    start = StringField(_l("From"), name="from")
    end = StringField(_l("To"), name="to")


class EnrolForm(FlaskForm):
    """Only the CSRF token: the eligibility questions come from the programme."""


class EnrolmentActionForm(FlaskForm):
    """Only the CSRF token: accept or decline an offer, cancel a place."""
