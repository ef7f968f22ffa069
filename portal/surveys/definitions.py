"""Survey definitions: the versioned TOML files of the top-level ``surveys/`` folder.

``load_definitions`` reads and checks every ``*.toml`` file of the folder; any problem raises a
``DefinitionError`` listing *all* of them, each naming the file, the question (when there is one)
and what is wrong, so ``flask surveys check`` can print them one a line. The format is described
in ``surveys/README.md``.

A definition's fingerprint is the sha256 of a canonical JSON of what residents see (title,
introduction, anonymity to staff and the questions), not of the file: whitespace, comments and
key order do not change it. ``record_version`` keeps one ``SurveyVersion`` row per
(survey, version) with that fingerprint and a JSON copy; once a version has responses,
``frozen_problems`` reports a file whose questions changed without a version bump.

``read_answers`` turns a submitted form (field name = question id) into typed values:
``int`` for rating5/effort7/nps, ``"yes"``/``"no"`` for yesno, the option key for single, a list
of option keys (in the file's order) for multi and stripped text for text. Unanswered optional
questions and questions hidden by ``show_if`` are left out. No Flask here.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from portal.core.config import ROOT
from portal.surveys.models import RESOLVED_ANSWERS, TRIGGERS, SurveyResponse, SurveyVersion

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


# -- Reading ---------------------------------------------------------------------------------


def check(folder: Path = SURVEYS_DIR) -> tuple[dict[str, Definition], list[str]]:
    """Every valid definition of ``folder`` by key, and every problem found (one line each)."""
    folder = Path(folder)
    if not folder.is_dir():
        return {}, [f"{folder}: no such folder"]
    definitions: dict[str, Definition] = {}
    problems: list[str] = []
    files_by_id: dict[str, list[Path]] = {}
    by_trigger: dict[str, Definition] = {}
    for path in sorted(folder.glob("*.toml")):
        definition, file_problems, key = _read_file(path)
        problems.extend(file_problems)
        if key:
            files_by_id.setdefault(key, []).append(path)
        if definition is None:
            continue
        if definition.trigger in by_trigger:
            other = _shown_path(by_trigger[definition.trigger].path)
            problems.append(
                f'{_shown_path(path)}: trigger "{definition.trigger}" is already '
                f"used by {other}; one survey per trigger"
            )
            continue
        definitions[definition.key] = definition
        by_trigger[definition.trigger] = definition
    for key, paths in files_by_id.items():
        # The file named after the id owns it; the others (misnamed) are told whose it is.
        owner = next((p for p in paths if p.name == f"{key}.toml"), paths[0])
        problems.extend(
            f'{_shown_path(path)}: id "{key}" is also the id of '
            f"{_shown_path(owner)}; each survey needs its own id"
            for path in paths
            if path != owner
        )
    problems.sort(key=lambda line: line.split(": ", 1)[0])  # stable: by file, in file order
    return definitions, problems


_cache: dict[Path, tuple[str, dict[str, Definition]]] = {}


def load_definitions(folder: Path = SURVEYS_DIR) -> dict[str, Definition]:
    """Every definition of ``folder`` by key; ``DefinitionError`` lists all problems.

    Parsed once per content of the folder (the files are hashed, not parsed, on later calls)."""
    folder = Path(folder).resolve()
    signature = _folder_signature(folder)
    cached = _cache.get(folder)
    if cached is not None and cached[0] == signature:
        return dict(cached[1])
    definitions, problems = check(folder)
    if problems:
        raise DefinitionError(problems)
    _cache[folder] = (signature, definitions)
    return dict(definitions)


def definition_for(trigger: str, folder: Path = SURVEYS_DIR) -> Definition | None:
    """The survey a trigger starts (at most one per trigger), or None."""
    return next((d for d in load_definitions(folder).values() if d.trigger == trigger), None)


def localized(mapping: Mapping[str, str], locale: str) -> str:
    """The text in ``locale`` ("es", "es-MX" ...), else the English one."""
    base = (locale or "").replace("_", "-").split("-")[0].lower()
    return mapping.get(base) or mapping.get("en") or ""


def _folder_signature(folder: Path) -> str:
    digest = hashlib.sha256()
    if folder.is_dir():
        for path in sorted(folder.glob("*.toml")):
            digest.update(path.name.encode() + b"\0")
            try:
                digest.update(hashlib.sha256(path.read_bytes()).digest())
            except OSError:
                digest.update(b"unreadable")
    return digest.hexdigest()


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


def _read_file(path: Path) -> tuple[Definition | None, list[str], str | None]:
    """(the definition if the file is valid, its problems, its id if it has a valid one)."""
    problems = _Problems(path)
    try:
        data = tomllib.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError:
        problems.add("the file is not UTF-8 text")
        return None, problems.lines, None
    except tomllib.TOMLDecodeError as error:
        problems.add(_toml_error(error))
        return None, problems.lines, None
    except OSError as error:
        problems.add(f"cannot be read ({error.strerror})")
        return None, problems.lines, None
    document = _check_document(data, path, problems)
    key = document["id"]
    if problems.lines:
        return None, problems.lines, key
    return from_document(document, path), [], key


def _toml_error(error: tomllib.TOMLDecodeError) -> str:
    message = str(error)
    match = re.search(r"\s*\(at line (\d+), column (\d+)\)$", message)
    if match:
        reason = message[: match.start()]
        return f"line {match.group(1)}: not valid TOML: {reason} (column {match.group(2)})"
    match = re.search(r"\s*\(at end of document\)$", message)
    if match:
        return f"at the end of the file: not valid TOML: {message[: match.start()]}"
    return f"not valid TOML: {message}"


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


# -- Versions on record ----------------------------------------------------------------------


def _version_row(session: Session, key: str, version: int) -> SurveyVersion | None:
    return session.scalar(
        select(SurveyVersion).where(
            SurveyVersion.survey_key == key, SurveyVersion.version == version
        )
    )


def _has_responses(session: Session, version_id: int) -> bool:
    return (
        session.scalar(
            select(SurveyResponse.id).where(SurveyResponse.survey_version_id == version_id).limit(1)
        )
        is not None
    )


def _frozen_message(definition: Definition) -> str:
    return (
        f"{_shown_path(definition.path)}: version {definition.version} has responses and "
        "its questions changed; bump the version"
    )


def record_version(session: Session, definition: Definition) -> SurveyVersion:
    """The ``SurveyVersion`` row of this definition's (key, version), created if missing.

    A row without responses follows the file (it is updated when the file changed); a row
    with responses is frozen: a different file with the same version raises DefinitionError
    (``flask surveys check`` reports it before a deploy)."""
    row = _version_row(session, definition.key, definition.version)
    if row is None:
        try:
            with session.begin_nested():
                row = SurveyVersion(
                    survey_key=definition.key,
                    version=definition.version,
                    fingerprint=definition.fingerprint,
                    definition=as_document(definition),
                )
                session.add(row)
        except IntegrityError:  # another process recorded it first
            row = _version_row(session, definition.key, definition.version)
            if row is None:
                raise
    if row.fingerprint != definition.fingerprint:
        if _has_responses(session, row.id):
            raise DefinitionError([_frozen_message(definition)])
        row.fingerprint = definition.fingerprint
        row.definition = as_document(definition)
    return row


def frozen_problems(
    session: Session, definitions: Mapping[str, Definition] | Iterable[Definition]
) -> list[str]:
    """A problem for each definition whose version has responses under other questions."""
    items = definitions.values() if isinstance(definitions, Mapping) else definitions
    problems = []
    for definition in items:
        row = _version_row(session, definition.key, definition.version)
        if (
            row is not None
            and row.fingerprint != definition.fingerprint
            and _has_responses(session, row.id)
        ):
            problems.append(_frozen_message(definition))
    return problems


def definition_of(row: SurveyVersion) -> Definition:
    """The definition residents answered, from its frozen copy."""
    return from_document(row.definition)


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
