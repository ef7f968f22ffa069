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
    ordered_keys = [option["key"] for option in question.options or []]
    keys = set(ordered_keys)
    if question.kind == "multi":
        values = [v for v in (value or []) if str(v).strip()] if isinstance(value, list) else (
            [value] if value else [])
        if not values:
            return [], "required" if question.required else None
        if any(v not in keys for v in values):
            return None, "bad_choice"
        chosen = set(values)
        return [key for key in ordered_keys if key in chosen], None
    text = (value if isinstance(value, str) else "" if value is None else str(value)).strip()
    if not text:
        return None, "required" if question.required else None
    if question.kind == "text":
        limit = question.max_length or TEXT_MAX
        return (text, None) if len(text) <= limit else (None, "too_long")
    if question.kind == "number":
        try:
            number = float(text.replace(",", ""))
        except ValueError:
            return None, "not_a_number"
        if not math.isfinite(number):
            return None, "not_a_number"
        return (int(number) if number.is_integer() else number), None
    if question.kind == "date":
        try:
            return date.fromisoformat(text).isoformat(), None
        except ValueError:
            return None, "not_a_date"
    if question.kind == "yesno":
        return (text, None) if text in ("yes", "no") else (None, "bad_choice")
    if question.kind == "single":
        return (text, None) if text in keys else (None, "bad_choice")
    return None, "bad_choice"
