"""Survey definition schema: the shapes of a definition and what reads one.

The constants of the format (the question kinds, the measures a question can feed, the two
languages, the scales and the id patterns), the frozen dataclasses a checked file becomes
(``Definition``, ``Question``, ``Option``, ``Condition``) and ``DefinitionError``; the JSON
document of a definition (``from_document``, ``as_document``, which ``SurveyVersion.definition``
keeps) and its fingerprint: the sha256 of a canonical JSON of what residents see (title,
introduction, anonymity to staff and the questions), so whitespace, comments and key order do
not change it; and ``read_answers``, which turns a submitted form (field name = question id)
into typed values: ``int`` for rating5/effort7/nps, ``"yes"``/``"no"`` for yesno, the option
key for single, a list of option keys (in the file's order) for multi and stripped text for
text, leaving out unanswered optional questions and questions hidden by ``show_if``. No Flask
here.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from portal.core.config import ROOT

SURVEYS_DIR: Path = ROOT / "surveys"
KINDS = ("rating5", "effort7", "nps", "yesno", "single", "multi", "text")
#: A question may feed one typed measure column of SurveyResponse:
MEASURES = {
    "csat": "rating5",
    "ces": "effort7",
    "nps": "nps",
    "resolved": "single",
    "comment": "text",
    "contact": "yesno",
}  # measure -> the kind it requires
#: Every text of a definition is given in these languages.
LANGUAGES = ("en", "es")
#: The values of the numeric scales, lowest first.
SCALES: dict[str, tuple[int, ...]] = {
    "rating5": tuple(range(1, 6)),
    "effort7": tuple(range(1, 8)),
    "nps": tuple(range(0, 11)),
}
YESNO = ("yes", "no")
#: Kinds whose answer a later question's ``show_if`` can test.
CONDITION_KINDS = ("single", "multi", "yesno", *SCALES)
MAX_TEXT_LENGTH = 5000
#: Question ids are form field names: these are taken by the answer form itself.
RESERVED_IDS = frozenset({"csrf_token", "submit", "token"})

SURVEY_ID_RE = re.compile(r"^[a-z][a-z0-9-]{0,59}$")
QUESTION_ID_RE = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")
OPTION_KEY_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")


@dataclass(frozen=True)
class Option:
    key: str
    label: Mapping[str, str]  # {"en": ..., "es": ...}


@dataclass(frozen=True)
class Condition:
    question: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class Question:
    id: str
    kind: str
    label: Mapping[str, str]
    hint: Mapping[str, str]  # empty when the question has no hint
    required: bool
    #: single/multi: the choices. rating5/effort7/nps: optional labels, one for every value of
    #: the scale (keys "1".."5" ...), in the order to show them. Empty for the other kinds.
    options: tuple[Option, ...]
    max_length: int | None  # text only
    show_if: Condition | None
    measure: str | None


@dataclass(frozen=True)
class Definition:
    key: str
    version: int
    trigger: str
    title: Mapping[str, str]
    introduction: Mapping[str, str]
    anonymous_to_staff: bool
    questions: tuple[Question, ...]
    fingerprint: str
    path: Path

    def question(self, question_id: str) -> Question | None:
        return next((q for q in self.questions if q.id == question_id), None)


class DefinitionError(ValueError):
    """One or more broken definitions; ``problems`` has one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def localized(mapping: Mapping[str, str], locale: str) -> str:
    """The text in ``locale`` ("es", "es-MX" ...), else the English one."""
    base = (locale or "").replace("_", "-").split("-")[0].lower()
    return mapping.get(base) or mapping.get("en") or ""


# -- Documents and fingerprints --------------------------------------------------------------


def _frozen_texts(texts: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(texts))


def from_document(document: Mapping[str, Any], path: Path | None = None) -> Definition:
    """A definition from its JSON copy (``SurveyVersion.definition``) or a checked file."""
    questions = []
    for q in document["questions"]:
        show_if = q.get("show_if")
        questions.append(
            Question(
                id=q["id"],
                kind=q["kind"],
                label=_frozen_texts(q["label"]),
                hint=_frozen_texts(q.get("hint") or {}),
                required=bool(q.get("required")),
                options=tuple(
                    Option(o["key"], _frozen_texts(o["label"])) for o in q.get("options") or ()
                ),
                max_length=q.get("max_length"),
                show_if=Condition(show_if["question"], tuple(show_if["values"]))
                if show_if
                else None,
                measure=q.get("measure"),
            )
        )
    key = document["id"]
    definition = Definition(
        key=key,
        version=document["version"],
        trigger=document["trigger"],
        title=_frozen_texts(document["title"]),
        introduction=_frozen_texts(document["introduction"]),
        anonymous_to_staff=bool(document.get("anonymous_to_staff")),
        questions=tuple(questions),
        fingerprint="",
        path=path or SURVEYS_DIR / f"{key}.toml",
    )
    return _with_fingerprint(definition)


def as_document(definition: Definition) -> dict[str, Any]:
    """The definition as plain JSON (what ``SurveyVersion.definition`` keeps)."""
    return {
        "id": definition.key,
        "version": definition.version,
        "trigger": definition.trigger,
        **_fingerprinted(definition),
    }


def _fingerprinted(definition: Definition) -> dict[str, Any]:
    """What residents see of a version: a change here needs a new version once answered."""
    return {
        "title": dict(definition.title),
        "introduction": dict(definition.introduction),
        "anonymous_to_staff": definition.anonymous_to_staff,
        "questions": [
            {
                "id": q.id,
                "kind": q.kind,
                "label": dict(q.label),
                "hint": dict(q.hint),
                "required": q.required,
                "options": [{"key": o.key, "label": dict(o.label)} for o in q.options],
                "max_length": q.max_length,
                "show_if": (
                    {"question": q.show_if.question, "values": list(q.show_if.values)}
                    if q.show_if
                    else None
                ),
                "measure": q.measure,
            }
            for q in definition.questions
        ],
    }


def fingerprint(definition: Definition) -> str:
    canonical = json.dumps(
        _fingerprinted(definition), sort_keys=True, ensure_ascii=False, separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _with_fingerprint(definition: Definition) -> Definition:
    from dataclasses import replace

    return replace(definition, fingerprint=fingerprint(definition))


# -- Answers ---------------------------------------------------------------------------------


def visible(question: Question, values: Mapping[str, Any]) -> bool:
    """Whether ``question`` is shown, given the (valid, visible) answers before it."""
    condition = question.show_if
    if condition is None:
        return True
    answer = values.get(condition.question)
    if answer is None:
        return False
    if isinstance(answer, list | tuple):
        return any(str(a) in condition.values for a in answer)
    return str(answer) in condition.values


def _submitted(form: Mapping[str, Any], name: str) -> list[str]:
    getlist = getattr(form, "getlist", None)
    raw = getlist(name) if callable(getlist) else form.get(name, [])
    if isinstance(raw, str):
        raw = [raw]
    return [value for value in raw if isinstance(value, str)]


def _read_one(question: Question, raw: list[str]) -> tuple[Any, str | None]:
    """(value or None when unanswered, error code or None)."""
    if question.kind == "text":
        text = raw[0].replace("\r\n", "\n").replace("\r", "\n").strip() if raw else ""
        if question.max_length is not None and len(text) > question.max_length:
            return None, "too_long"
        return text or None, None
    given = list(dict.fromkeys(value.strip() for value in raw if value.strip()))
    if not given:
        return None, None
    if question.kind == "multi":
        keys = [option.key for option in question.options]
        if any(value not in keys for value in given):
            return None, "choose"
        return [key for key in keys if key in given], None
    if len(given) > 1:
        return None, "choose"
    value = given[0]
    if question.kind in SCALES:
        if not re.fullmatch(r"[0-9]{1,2}", value) or int(value) not in SCALES[question.kind]:
            return None, "choose"
        return int(value), None
    allowed = YESNO if question.kind == "yesno" else [o.key for o in question.options]
    if value not in allowed:
        return None, "choose"
    return value, None


def read_answers(
    definition: Definition, form: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    """(values by question id, errors by question id) from a submitted form.

    ``form`` maps each question id to the submitted strings (a Werkzeug MultiDict or
    ``{id: [str, ...]}``). Error codes: "required", "choose" (not one of the options or out of
    the scale), "too_long". Hidden questions (``visible`` false) are ignored."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for question in definition.questions:
        if not visible(question, values):
            continue
        value, error = _read_one(question, _submitted(form, question.id))
        if error:
            errors[question.id] = error
        elif value is None:
            if question.required:
                errors[question.id] = "required"
        else:
            values[question.id] = value
    return values, errors


def measures(definition: Definition, values: Mapping[str, Any]) -> dict[str, Any]:
    """The typed columns of ``SurveyResponse``: csat, ces, nps, resolved, comment, contact_ok."""
    result: dict[str, Any] = {
        "csat": None,
        "ces": None,
        "nps": None,
        "resolved": None,
        "comment": "",
        "contact_ok": None,
    }
    for question in definition.questions:
        if question.measure is None or question.id not in values:
            continue
        value = values[question.id]
        if question.measure == "contact":
            result["contact_ok"] = value == "yes"
        else:
            result[question.measure] = value
    return result
