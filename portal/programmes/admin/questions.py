"""A programme's eligibility questions in the back office: adding, editing and deleting
them, their options (typed one a line as ``key | English label | Spanish label``) and the
answers that qualify; a question keeps its code, so answers on record keep pointing at it. Every
change is checked first and refused whole with ``ProgrammeAdminError`` and writes an
``AuditEntry``. No Flask here.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from portal.auth.models import User
from portal.catalogue.models import QUESTION_KINDS
from portal.programmes.admin.common import (
    CHOICE_KINDS,
    CODE_MAX,
    HELP_MAX,
    OPTION_KEY_MAX,
    OPTION_KEY_RE,
    OPTION_LABEL_MAX,
    OPTIONS_MAX,
    PROMPT_MAX,
    QUESTIONS_MAX,
    ProgrammeAdminError,
    _audit,
    _bounded,
    _text,
    _with_es,
)
from portal.programmes.models import (
    EligibilityQuestion,
    Programme,
)
from portal.requests.answers import TEXT_MAX


@dataclass(frozen=True)
class QuestionInput:
    prompt: str
    kind: str
    required: bool = True
    prompt_es: str = ""
    help: str = ""
    help_es: str = ""
    #: One option a line: ``key | English label | Spanish label`` (the Spanish is optional).
    options: str = ""
    #: Keys of the answers that qualify (yes/no for yesno), empty: any answer qualifies.
    eligible_values: Sequence[str] = field(default_factory=list)
    min_value: float | None = None
    max_value: float | None = None
    max_length: int | None = None
    ineligible_message: str = ""
    ineligible_message_es: str = ""


def question_snapshot(question: EligibilityQuestion) -> dict[str, Any]:
    return {
        "code": question.code,
        "kind": question.kind,
        "prompt": question.prompt,
        "help": question.help,
        "required": question.required,
        "options": question.options or [],
        "eligible_values": question.eligible_values or [],
        "min_value": question.min_value,
        "max_value": question.max_value,
        "max_length": question.max_length,
        "ineligible_message": question.ineligible_message,
        "translations": question.translations or {},
    }


def parse_options(text: str) -> tuple[list[dict[str, Any]], str | None]:
    """Options from lines ``key | English label | Spanish label``; an error code or None."""
    options: list[dict[str, Any]] = []
    seen: set[str] = set()
    for line in (text or "").splitlines():
        if not line.strip():
            continue
        parts = [" ".join(part.split()) for part in line.split("|")]
        if len(parts) < 2 or len(parts) > 3 or not parts[0] or not parts[1]:
            return [], "invalid"
        key = parts[0].lower()
        if not OPTION_KEY_RE.match(key) or len(key) > OPTION_KEY_MAX:
            return [], "invalid"
        if any(len(part) > OPTION_LABEL_MAX for part in parts[1:]):
            return [], "too_long"
        if key in seen:
            return [], "duplicate_option"
        seen.add(key)
        option: dict[str, Any] = {"key": key, "label": parts[1]}
        if len(parts) == 3 and parts[2]:
            option["translations"] = {"es": {"label": parts[2]}}
        options.append(option)
    if len(options) > OPTIONS_MAX:
        return [], "too_many"
    return options, None


def options_text(options: Sequence[dict[str, Any]]) -> str:
    """The options as the coordinator types them (the inverse of ``parse_options``)."""
    lines = []
    for option in options or []:
        spanish = option.get("translations", {}).get("es", {}).get("label", "")
        lines.append(" | ".join(p for p in (option["key"], option.get("label", ""), spanish) if p))
    return "\n".join(lines)


def _check_question(data: QuestionInput) -> tuple[dict[str, str], dict[str, Any]]:
    errors: dict[str, str] = {}
    clean: dict[str, Any] = {
        "prompt": _text(data.prompt, "prompt", PROMPT_MAX, errors, required=True),
        "prompt_es": _text(data.prompt_es, "prompt_es", PROMPT_MAX, errors),
        "help": _text(data.help, "help", HELP_MAX, errors, one_line=False),
        "help_es": _text(data.help_es, "help_es", HELP_MAX, errors, one_line=False),
        "ineligible_message": _text(
            data.ineligible_message, "ineligible_message", HELP_MAX, errors, one_line=False
        ),
        "ineligible_message_es": _text(
            data.ineligible_message_es, "ineligible_message_es", HELP_MAX, errors, one_line=False
        ),
    }
    if data.kind not in QUESTION_KINDS:
        errors["kind"] = "unknown"
    options, problem = parse_options(data.options)
    if problem:
        errors["options"] = problem
    elif options and data.kind not in ("single", "multi"):
        errors["options"] = "options_for_choice_only"
    elif data.kind in ("single", "multi") and len(options) < 2:
        errors["options"] = "needs_options"
    eligible = list(dict.fromkeys(v.strip().lower() for v in data.eligible_values if v.strip()))
    if eligible and data.kind not in CHOICE_KINDS:
        errors["eligible_values"] = "number_only" if data.kind == "number" else "invalid"
    elif eligible and "options" not in errors:
        allowed = {"yes", "no"} if data.kind == "yesno" else {o["key"] for o in options}
        if set(eligible) - allowed:
            errors["eligible_values"] = "unknown_option"
    if (data.min_value is not None or data.max_value is not None) and data.kind != "number":
        errors["min_value"] = "number_only"
    elif (
        data.min_value is not None
        and data.max_value is not None
        and data.min_value > data.max_value
    ):
        errors["max_value"] = "min_above_max"
    if data.max_length is not None:
        if data.kind != "text":
            errors["max_length"] = "invalid"
        else:
            _bounded(data.max_length, "max_length", 1, TEXT_MAX, errors)
    clean.update(options=options, eligible_values=eligible)
    return errors, clean


def _apply_question(
    question: EligibilityQuestion, data: QuestionInput, clean: dict[str, Any]
) -> None:
    question.kind = data.kind
    question.prompt = clean["prompt"]
    question.help = clean["help"]
    question.required = bool(data.required)
    question.options = clean["options"]
    question.eligible_values = clean["eligible_values"]
    question.min_value = data.min_value
    question.max_value = data.max_value
    question.max_length = data.max_length
    question.ineligible_message = clean["ineligible_message"]
    question.translations = _with_es(
        question.translations,
        {
            "prompt": clean["prompt_es"],
            "help": clean["help_es"],
            "ineligible_message": clean["ineligible_message_es"],
        },
    )


def question_code(prompt: str, taken: set[str]) -> str:
    """A code from the prompt's words (``lives_in_the_city``), unique among ``taken``."""
    plain = unicodedata.normalize("NFKD", prompt).encode("ascii", "ignore").decode().lower()
    base = "_".join(re.findall(r"[a-z0-9]+", plain))[: CODE_MAX - 4].strip("_") or "question"
    code, number = base, 2
    while code in taken:
        code, number = f"{base}_{number}", number + 1
    return code


def add_question(
    session: Session, programme: Programme, data: QuestionInput, *, actor: User | None
) -> EligibilityQuestion:
    errors, clean = _check_question(data)
    if len(programme.questions) >= QUESTIONS_MAX:
        errors["prompt"] = "too_many"
    if errors:
        raise ProgrammeAdminError(errors)
    taken = {q.code for q in programme.questions}
    position = max((q.position for q in programme.questions), default=-1) + 1
    question = EligibilityQuestion(
        code=question_code(clean["prompt"], taken), position=position, translations={}
    )
    _apply_question(question, data, clean)
    programme.questions.append(question)
    session.flush()
    _audit(
        session,
        actor=actor,
        entity="programme_question",
        entity_id=question.id,
        action="create",
        before={},
        after={"programme_id": programme.id, **question_snapshot(question)},
    )
    return question


def update_question(
    session: Session, question: EligibilityQuestion, data: QuestionInput, *, actor: User | None
) -> None:
    """Save a question; its code stays (answers on record keep pointing at it)."""
    errors, clean = _check_question(data)
    if errors:
        raise ProgrammeAdminError(errors)
    before = question_snapshot(question)
    _apply_question(question, data, clean)
    session.flush()
    _audit(
        session,
        actor=actor,
        entity="programme_question",
        entity_id=question.id,
        action="update",
        before=before,
        after=question_snapshot(question),
    )


def delete_question(session: Session, question: EligibilityQuestion, *, actor: User | None) -> None:
    programme = question.programme
    before = {"programme_id": programme.id, **question_snapshot(question)}
    question_id = question.id
    programme.questions.remove(question)
    session.flush()
    _audit(
        session,
        actor=actor,
        entity="programme_question",
        entity_id=question_id,
        action="delete",
        before=before,
        after={},
    )
