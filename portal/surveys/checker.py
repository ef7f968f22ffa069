"""Survey definition checker: the validation of one parsed definition file and its messages.

``_check_document`` checks the TOML table of one file against the format of
``surveys/README.md`` (keys, ids, versions, triggers, texts in every language, kinds, options,
lengths, ``show_if`` conditions and measures) and returns the document ``from_document`` reads;
every problem goes to ``_Problems``, which words it with the file and the question it is about,
so that all of a file's problems are reported at once, one a line. No Flask here.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from portal.surveys.models import RESOLVED_ANSWERS, TRIGGERS
from portal.surveys.schema import (
    CONDITION_KINDS,
    KINDS,
    LANGUAGES,
    MAX_TEXT_LENGTH,
    MEASURES,
    OPTION_KEY_RE,
    QUESTION_ID_RE,
    RESERVED_IDS,
    SCALES,
    SURVEY_ID_RE,
    YESNO,
)

_TOP_KEYS = ("id", "version", "trigger", "title", "introduction", "anonymous_to_staff", "questions")
_QUESTION_KEYS = (
    "id",
    "kind",
    "label",
    "hint",
    "required",
    "options",
    "max_length",
    "show_if",
    "measure",
)
_OPTION_KEYS = ("key", "label")
_CONDITION_KEYS = ("question", "values")


def _shown_path(path: Path) -> str:
    """How problems name a file: ``surveys/request-resolved.toml``."""
    return f"{path.parent.name}/{path.name}"


def _shown(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


class _Problems:
    """Collects the problems of one file, each prefixed with the file and the question."""

    def __init__(self, path: Path) -> None:
        self.file = _shown_path(path)
        self.lines: list[str] = []

    def add(self, message: str, question: str | None = None) -> None:
        where = f"{self.file}: question {question}: " if question else f"{self.file}: "
        self.lines.append(where + message)

    def unknown_keys(
        self,
        table: Mapping[str, Any],
        known: tuple[str, ...],
        where: str,
        question: str | None = None,
    ) -> None:
        for key in table:
            if key in known:
                continue
            guess = difflib.get_close_matches(key, known, n=1)
            hint = f'did you mean "{guess[0]}"?' if guess else "known keys: " + ", ".join(known)
            self.add(f'unknown key "{key}"{where} ({hint})', question)


# -- Checking --------------------------------------------------------------------------------


def _check_document(data: dict[str, Any], path: Path, problems: _Problems) -> dict[str, Any]:
    problems.unknown_keys(data, _TOP_KEYS, "")
    key = data.get("id")
    if key is None:
        problems.add("id is required")
    elif not isinstance(key, str) or not SURVEY_ID_RE.match(key):
        problems.add(
            "id must be lower-case letters, digits and hyphens, starting with a "
            f"letter, at most 60 characters (got {_shown(key)})"
        )
        key = None
    if key and path.name != f"{key}.toml":
        problems.add(f'the file name must be "{key}.toml" (the id is "{key}")')
    version = data.get("version")
    if version is None:
        problems.add("version is required (a whole number from 1)")
    elif not _is_int(version) or version < 1:
        problems.add(f"version must be a whole number from 1 (got {_shown(version)})")
    trigger = data.get("trigger")
    if trigger is None:
        problems.add("trigger is required (one of " + ", ".join(TRIGGERS) + ")")
    elif trigger not in TRIGGERS:
        problems.add("trigger must be one of " + ", ".join(TRIGGERS) + f" (got {_shown(trigger)})")
    title = _texts(data.get("title"), "title", problems, required=True)
    introduction = _texts(data.get("introduction"), "introduction", problems, required=True)
    anonymous = data.get("anonymous_to_staff", False)
    if not isinstance(anonymous, bool):
        problems.add(f"anonymous_to_staff must be true or false (got {_shown(anonymous)})")
    questions = _check_questions(data.get("questions"), problems)
    return {
        "id": key,
        "version": version,
        "trigger": trigger,
        "title": title,
        "introduction": introduction,
        "anonymous_to_staff": anonymous,
        "questions": questions,
    }


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _texts(
    value: Any,
    what: str,
    problems: _Problems,
    *,
    question: str | None = None,
    required: bool = True,
) -> dict[str, str]:
    """A table of one text per language (``{en = "...", es = "..."}``), checked."""
    if value is None:
        if required:
            problems.add(f'{what} is required, with an "en" and an "es" text', question)
        return {}
    if not isinstance(value, dict):
        problems.add(
            f'{what} must be a table with an "en" and an "es" text (got {_shown(value)})', question
        )
        return {}
    texts: dict[str, str] = {}
    for language in LANGUAGES:
        text = value.get(language)
        if text is None:
            problems.add(f'{what} has no "{language}" text', question)
        elif not isinstance(text, str) or not text.strip():
            problems.add(f"{what}.{language} must be non-empty text (got {_shown(text)})", question)
        else:
            texts[language] = text.strip()
    for language in value:
        if language not in LANGUAGES:
            problems.add(
                f'{what} has an unknown language "{language}" (use "en" and "es")', question
            )
    return texts


class _QuestionContext:
    """What the checks of one question need to know about the questions before it."""

    def __init__(self) -> None:
        self.earlier: dict[str, dict[str, Any]] = {}
        self.all_ids: set[str] = set()
        self.measures: dict[str, str] = {}


def _check_questions(value: Any, problems: _Problems) -> list[dict[str, Any]]:
    if value is None or value == []:
        problems.add("at least one question is needed ([[questions]])")
        return []
    if not isinstance(value, list) or not all(isinstance(q, dict) for q in value):
        problems.add("questions must be a list of [[questions]] tables")
        return []
    context = _QuestionContext()
    context.all_ids = {q["id"] for q in value if isinstance(q.get("id"), str)}
    questions = []
    for position, data in enumerate(value, start=1):
        question = _check_question(data, position, context, problems)
        if question["id"]:
            context.earlier.setdefault(question["id"], question)
        questions.append(question)
    return questions


def _check_question(
    data: dict[str, Any], position: int, context: _QuestionContext, problems: _Problems
) -> dict[str, Any]:
    qid = data.get("id")
    name = f'"{qid}"' if isinstance(qid, str) and qid else str(position)
    if qid is None:
        problems.add("id is required", name)
    elif not isinstance(qid, str) or not QUESTION_ID_RE.match(qid):
        problems.add(
            "id must be lower-case letters, digits, hyphens and underscores, starting "
            f"with a letter, at most 40 characters (got {_shown(qid)})",
            name,
        )
        qid = None
    elif qid in RESERVED_IDS:
        problems.add(f'id "{qid}" is reserved by the answer form; choose another', name)
    elif qid in context.earlier:
        problems.add("id is used by an earlier question", name)
    problems.unknown_keys(data, _QUESTION_KEYS, "", name)
    kind = data.get("kind")
    if kind is None:
        problems.add("kind is required (one of " + ", ".join(KINDS) + ")", name)
    elif kind not in KINDS:
        problems.add("kind must be one of " + ", ".join(KINDS) + f" (got {_shown(kind)})", name)
        kind = None
    required = data.get("required", False)
    if not isinstance(required, bool):
        problems.add(f"required must be true or false (got {_shown(required)})", name)
    question = {
        "id": qid,
        "kind": kind,
        "required": required,
        "label": _texts(data.get("label"), "label", problems, question=name),
        "hint": _texts(data.get("hint"), "hint", problems, question=name, required=False),
        "options": _check_options(data.get("options"), kind, name, problems),
        "max_length": _check_max_length(data, kind, name, problems),
        "show_if": _check_show_if(data.get("show_if"), qid, context, name, problems),
        "measure": _check_measure(data.get("measure"), kind, name, context, problems),
    }
    if question["measure"] == "resolved" and kind == "single":
        keys = [option["key"] for option in question["options"]]
        if sorted(keys) != sorted(RESOLVED_ANSWERS):
            problems.add(
                'measure "resolved" needs exactly the options '
                + ", ".join(RESOLVED_ANSWERS)
                + f" (got {', '.join(keys) or 'none'})",
                name,
            )
    return question


def _check_options(
    value: Any, kind: str | None, name: str, problems: _Problems
) -> list[dict[str, Any]]:
    if kind is None:
        return []
    if kind in ("single", "multi"):
        if value is None:
            problems.add(
                f"a {kind} question needs options (at least 2 [[questions.options]])", name
            )
            return []
    elif kind in SCALES:
        if value is None:
            return []
    else:
        if value is not None:
            problems.add(
                f"options are only for single, multi and scale questions (this one is {kind})", name
            )
        return []
    if not isinstance(value, list) or not all(isinstance(o, dict) for o in value):
        problems.add("options must be a list of tables with a key and a label", name)
        return []
    options = [_check_option(option, kind, name, problems) for option in value]
    keys = [option["key"] for option in options if option["key"] is not None]
    for key in sorted({k for k in keys if keys.count(k) > 1}):
        problems.add(f'option "{key}" is listed more than once', name)
    if kind in SCALES:
        expected = {str(v) for v in SCALES[kind]}
        if set(keys) != expected or len(keys) != len(expected):
            low, high = SCALES[kind][0], SCALES[kind][-1]
            problems.add(
                f"the options of a {kind} question label the scale: one for every "
                f"value from {low} to {high}, each once (got "
                f"{', '.join(keys) or 'none'})",
                name,
            )
    elif len(options) < 2:
        problems.add(f"a {kind} question needs at least 2 options (got {len(options)})", name)
    return options


def _check_option(
    data: dict[str, Any], kind: str, name: str, problems: _Problems
) -> dict[str, Any]:
    key = data.get("key")
    if kind in SCALES and _is_int(key):
        key = str(key)
    shown = f'option "{key}"' if isinstance(key, str) else "an option"
    problems.unknown_keys(data, _OPTION_KEYS, f" in {shown}", name)
    if key is None:
        problems.add("an option has no key", name)
    elif not isinstance(key, str) or not OPTION_KEY_RE.match(key):
        problems.add(
            "option keys must be lower-case letters, digits, hyphens and underscores, "
            f"at most 40 characters (got {_shown(key)})",
            name,
        )
        key = None
    label = _texts(data.get("label"), f"{shown} label", problems, question=name)
    return {"key": key, "label": label}


def _check_max_length(
    data: dict[str, Any], kind: str | None, name: str, problems: _Problems
) -> int | None:
    value = data.get("max_length")
    if kind != "text":
        if value is not None and kind is not None:
            problems.add(f"max_length is only for text questions (this one is {kind})", name)
        return None
    if value is None:
        problems.add(
            f"a text question needs max_length (a whole number from 1 to {MAX_TEXT_LENGTH})", name
        )
        return None
    if not _is_int(value) or not 1 <= value <= MAX_TEXT_LENGTH:
        problems.add(
            f"max_length must be a whole number from 1 to {MAX_TEXT_LENGTH} (got {_shown(value)})",
            name,
        )
        return None
    return value


def _values_of(question: dict[str, Any]) -> tuple[str, ...]:
    """The answers a (checked) question can take, as show_if writes them."""
    kind = question["kind"]
    if kind in SCALES:
        return tuple(str(v) for v in SCALES[kind])
    if kind == "yesno":
        return YESNO
    return tuple(option["key"] for option in question["options"] if option["key"])


def _check_show_if(
    value: Any, qid: str | None, context: _QuestionContext, name: str, problems: _Problems
) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        problems.add(
            'show_if must be a table: { question = "...", values = ["..."] } '
            f"(got {_shown(value)})",
            name,
        )
        return None
    problems.unknown_keys(value, _CONDITION_KEYS, " in show_if", name)
    target = value.get("question")
    values = value.get("values")
    if isinstance(values, str | int) and not isinstance(values, bool):
        values = [values]
    if (
        not isinstance(values, list)
        or not values
        or not all(isinstance(v, str) or _is_int(v) for v in values)
    ):
        problems.add(
            f"show_if needs values: a list of the answers that show this question "
            f"(got {_shown(values)})",
            name,
        )
        values = None
    else:
        values = [str(v) for v in values]
    if not isinstance(target, str):
        problems.add(f"show_if needs the id of an earlier question (got {_shown(target)})", name)
        return None
    earlier = context.earlier.get(target)
    if earlier is None:
        if target == qid or target in context.all_ids:
            problems.add(
                f'show_if refers to "{target}", which does not come before this '
                "question; a condition can only use an earlier answer",
                name,
            )
        else:
            problems.add(f'show_if refers to an unknown question "{target}"', name)
        return None
    if earlier["kind"] not in CONDITION_KINDS:
        if earlier["kind"] is not None:
            problems.add(
                f'show_if refers to "{target}", a {earlier["kind"]} question; only '
                + ", ".join(CONDITION_KINDS)
                + " answers can be tested",
                name,
            )
        return None
    if values is None:
        return None
    possible = _values_of(earlier)
    for wrong in [v for v in values if v not in possible]:
        problems.add(
            f'show_if: "{target}" cannot be {_shown(wrong)} (its answers are '
            + ", ".join(possible)
            + ")",
            name,
        )
    return {"question": target, "values": values}


def _check_measure(
    value: Any, kind: str | None, name: str, context: _QuestionContext, problems: _Problems
) -> str | None:
    if value is None:
        return None
    if value not in MEASURES:
        problems.add(
            "measure must be one of " + ", ".join(MEASURES) + f" (got {_shown(value)})", name
        )
        return None
    if kind is not None and MEASURES[value] != kind:
        problems.add(
            f'measure "{value}" needs a {MEASURES[value]} question (this one is {kind})', name
        )
    if value in context.measures:
        problems.add(
            f'measure "{value}" is already used by question {context.measures[value]}', name
        )
    else:
        context.measures[value] = name
    return value
