"""Check a resident's answers to a category's extra questions.

Shared by the web form and (later) the Open311 API: raw values in, clean values or per-question
error codes out, plus the stopper that ends the form, if one was answered.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from portal.catalogue.models import CategoryQuestion, ServiceCategory

TEXT_MAX = 500


@dataclass
class AnswerCheck:
    answers: dict[str, Any] = field(default_factory=dict)
    #: question code -> error code (required | not_a_number | not_a_date | bad_choice | too_long)
    errors: dict[str, str] = field(default_factory=dict)
    stopper: CategoryQuestion | None = None


def raw_answers(category: ServiceCategory, form: Any) -> dict[str, Any]:
    """The posted answers (fields ``q_<code>``) from a form mapping with ``get``/``getlist``."""
    return {
        q.code: (form.getlist(f"q_{q.code}") if q.kind == "multi" else form.get(f"q_{q.code}", ""))
        for q in category.questions
    }


def check_answers(category: ServiceCategory, raw: dict[str, Any]) -> AnswerCheck:
    """``raw`` maps question code to a string (or a list of strings for ``multi``)."""
    result = AnswerCheck()
    for question in category.questions:
        value = raw.get(question.code)
        clean, error = _check_one(question, value)
        if error:
            result.errors[question.code] = error
            continue
        if clean in (None, "", []):
            continue
        result.answers[question.code] = clean
        stops = set(question.stop_values or [])
        chosen = set(clean) if isinstance(clean, list) else {str(clean)}
        if stops & chosen and result.stopper is None:
            result.stopper = question
    return result


def _check_one(question: CategoryQuestion, value: Any) -> tuple[Any, str | None]:
    if question.kind == "multi":
        return _check_multi(question, value)
    text = (value if isinstance(value, str) else "" if value is None else str(value)).strip()
    if not text:
        return None, "required" if question.required else None
    checker = _CHECKERS.get(question.kind)
    return checker(question, text) if checker else (None, "bad_choice")


def _check_multi(question: CategoryQuestion, value: Any) -> tuple[Any, str | None]:
    ordered_keys = [option["key"] for option in question.options or []]
    raw = value if isinstance(value, list) else ([value] if value else [])
    values = {str(v).strip() for v in raw if str(v).strip()}
    if not values:
        return [], "required" if question.required else None
    if values - set(ordered_keys):
        return None, "bad_choice"
    return [key for key in ordered_keys if key in values], None


def _check_text(question: CategoryQuestion, text: str) -> tuple[Any, str | None]:
    limit = question.max_length or TEXT_MAX
    return (text, None) if len(text) <= limit else (None, "too_long")


def _check_number(_question: CategoryQuestion, text: str) -> tuple[Any, str | None]:
    try:
        number = float(text.replace(",", ""))
    except ValueError:
        return None, "not_a_number"
    if not math.isfinite(number):
        return None, "not_a_number"
    return (int(number) if number.is_integer() else number), None


def _check_date(_question: CategoryQuestion, text: str) -> tuple[Any, str | None]:
    try:
        return date.fromisoformat(text).isoformat(), None
    except ValueError:
        return None, "not_a_date"


def _check_yesno(_question: CategoryQuestion, text: str) -> tuple[Any, str | None]:
    return (text, None) if text in ("yes", "no") else (None, "bad_choice")


def _check_single(question: CategoryQuestion, text: str) -> tuple[Any, str | None]:
    keys = {option["key"] for option in question.options or []}
    return (text, None) if text in keys else (None, "bad_choice")


_CHECKERS = {
    "text": _check_text,
    "number": _check_number,
    "date": _check_date,
    "yesno": _check_yesno,
    "single": _check_single,
}
