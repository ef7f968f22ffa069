"""Forms of the residents' programme pages, and the words for programme codes.

The eligibility questions are drawn from the programme (like a category's questions on the
filing form), not declared here.
"""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import Length

from portal.programmes.models import EligibilityQuestion

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
    "offer_expired": _l(
        "The time to accept this place has passed, so it was offered to "
        "the next person on the waitlist."
    ),
    "full": _l("This programme is full."),
    "invalid": _l("Check your answers and try again."),
}


def eligibility_rule(question: EligibilityQuestion, locale: str) -> str:
    """Who qualifies, in words ("" when any answer does)."""
    values = list(question.eligible_values or [])
    if question.kind == "yesno" and values:
        names = [_("Yes") if v == "yes" else _("No") for v in values]
        return _("Open to people who answer “%(answer)s”.", answer=_(" or ").join(names))
    if question.kind == "single" and values:
        names = [question.option_label(v, locale) for v in values]
        return _("Open to people who answer “%(answer)s”.", answer=_("” or “").join(names))
    if question.kind == "multi" and values:
        names = [question.option_label(v, locale) for v in values]
        return _(
            "Open to people who choose at least one of: %(answers)s.", answers=", ".join(names)
        )
    if question.kind == "number":
        low, high = question.min_value, question.max_value
        if low is not None and high is not None:
            return _(
                "Open to people who answer between %(low)s and %(high)s.",
                low=_number(low),
                high=_number(high),
            )
        if low is not None:
            return _("Open to people who answer %(low)s or more.", low=_number(low))
        if high is not None:
            return _("Open to people who answer %(high)s or less.", high=_number(high))
    return ""


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def ineligible_message(question: EligibilityQuestion, locale: str) -> str:
    """What a resident whose answer does not qualify is told about one question."""
    custom = question.t("ineligible_message", locale)
    if custom:
        return str(custom)
    rule = eligibility_rule(question, locale)
    prompt = question.t("prompt", locale)
    if rule:
        return _(
            "This programme is only open to people who qualify on “%(question)s”. %(rule)s",
            question=prompt,
            rule=rule,
        )
    return _("Your answer to “%(question)s” does not qualify for this programme.", question=prompt)


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
