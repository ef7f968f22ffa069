"""Check a resident's answers to a programme's eligibility questions (no Flask here).

The answers are checked like a category's questions (``portal.requests.answers``: required,
not_a_number, not_a_date, bad_choice, too_long), then each clean answer against the
question's rule:

- yesno / single: the answer must be one of ``eligible_values`` (when any are set);
- multi: at least one chosen value must be in ``eligible_values`` (when any are set);
- number: ``min_value <= answer <= max_value`` (each bound when set);
- text / date: no rule.

An optional question left unanswered never disqualifies anyone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

from portal.programmes.models import EligibilityQuestion, Programme
from portal.requests.answers import check_answers


@dataclass
class EligibilityCheck:
    #: question code -> clean answer (unanswered optional questions are left out)
    answers: dict[str, Any] = field(default_factory=dict)
    #: question code -> error code (required | not_a_number | not_a_date | bad_choice |
    #: too_long)
    errors: dict[str, str] = field(default_factory=dict)
    #: codes of the questions whose answer does not qualify, in question order
    ineligible: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors and not self.ineligible


def raw_answers(programme: Programme, form: Any) -> dict[str, Any]:
    """The posted answers (fields ``q_<code>``) from a mapping with ``get``/``getlist``."""
    return {
        q.code: (form.getlist(f"q_{q.code}") if q.kind == "multi" else form.get(f"q_{q.code}", ""))
        for q in programme.questions
    }


def check_eligibility(programme: Programme, raw: dict[str, Any]) -> EligibilityCheck:
    """``raw`` maps question code to a string (a list of strings for ``multi``)."""
    # check_answers is typed for a ServiceCategory but only reads ``questions`` (code, kind,
    # required, options, max_length, stop_values), which a Programme's questions also have.
    checked = check_answers(cast(Any, programme), raw)
    result = EligibilityCheck(answers=checked.answers, errors=checked.errors)
    for question in programme.questions:
        if question.code in result.errors or question.code not in result.answers:
            continue
        if not qualifies(question, result.answers[question.code]):
            result.ineligible.append(question.code)
    return result


def qualifies(question: EligibilityQuestion, answer: Any) -> bool:
    """Does a clean ``answer`` to ``question`` meet its eligibility rule?"""
    eligible = {str(value) for value in question.eligible_values or []}
    if question.kind in ("yesno", "single"):
        return not eligible or str(answer) in eligible
    if question.kind == "multi":
        chosen = {str(value) for value in answer} if isinstance(answer, list) else {str(answer)}
        return not eligible or bool(chosen & eligible)
    if question.kind == "number":
        number = float(answer)
        if question.min_value is not None and number < question.min_value:
            return False
        return question.max_value is None or number <= question.max_value
    return True


__all__ = ["EligibilityCheck", "check_eligibility", "qualifies", "raw_answers"]
