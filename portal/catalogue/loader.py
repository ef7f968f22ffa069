"""Read a city's ``catalogue.toml``: departments, service groups, categories and questions.

The file has three arrays of tables: ``departments``, ``groups`` and ``categories`` (each
category with its ``questions``). English lives in the plain keys, other languages under
``translations.<locale>.<field>``; the format is in ``docs/city-configuration.md`` and a full
example is ``portal/demo/city/catalogue.toml``. Reading checks the whole file and names every
problem; ``portal.city.folder`` checks what it names in the rest of the folder (groups,
departments, calendars) and ``portal.city.importer`` writes it.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections import Counter
from pathlib import Path
from typing import Any

from portal.catalogue.models import BREACH_ACTIONS, QUESTION_KINDS

CODE_RE = re.compile(r"^[a-z0-9]+(?:[_-][a-z0-9]+)*\Z")
LOCALE_RE = re.compile(r"^[a-z]{2}(?:_[A-Z]{2})?\Z")
NOTICE_LEVELS = ("info", "warning", "emergency")
CHOICE_KINDS = ("single", "multi")
YESNO_VALUES = ("yes", "no")

_DEPARTMENT_KEYS = {
    "code",
    "name",
    "email",
    "active",
    "translations",
    "calendar",
    "assignment_mode",
    "breach_actions",
}
#: How a department's new tasks reach its agents.
ASSIGNMENT_MODES = ("queue", "round_robin", "least_loaded")

#: A category's retention period in days (``retention_days``), when it has its own.
RETENTION_MIN = 1
RETENTION_MAX = 36500
_GROUP_KEYS = {"code", "name", "position", "translations"}
_CATEGORY_KEYS = {
    "code",
    "group",
    "department",
    "name",
    "description",
    "keywords",
    "notice",
    "notice_level",
    "private",
    "active",
    "position",
    "retention_days",
    "asset_layer",
    "asset_required",
    "translations",
    "questions",
}
_QUESTION_KEYS = {
    "code",
    "kind",
    "prompt",
    "help",
    "required",
    "options",
    "stop_values",
    "stop_message",
    "max_length",
    "active",
    "translations",
}
_OPTION_KEYS = {"key", "label", "translations"}


def suggestion(value: Any, known: Any) -> str:
    """`` (did you mean "streets"?)`` when ``value`` is close to one of ``known``, else ``""``."""
    if not isinstance(value, str) or not value:
        return ""
    close = difflib.get_close_matches(value, [str(k) for k in known], n=1, cutoff=0.6)
    return f' (did you mean "{close[0]}"?)' if close else ""


class CatalogueError(ValueError):
    """The catalogue file is not valid. ``problems`` names the entry of each problem found."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(
            f"{source} is not a valid catalogue:\n" + "\n".join(f"- {p}" for p in problems)
        )


class Checker:
    """Collects every problem in the file, each prefixed with where it is."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def add(self, where: str, message: str) -> None:
        self.problems.append(f"{where}: {message}")

    def keys(self, where: str, table: dict[str, Any], allowed: set[str]) -> None:
        for key in sorted(set(table) - allowed):
            self.add(where, f'unknown key "{key}" (expected one of {", ".join(sorted(allowed))})')

    def text(
        self,
        where: str,
        table: dict[str, Any],
        key: str,
        *,
        required: bool = False,
        max_len: int | None = None,
    ) -> str:
        value = table.get(key, "")
        if not isinstance(value, str):
            self.add(where, f'"{key}" must be text')
            return ""
        value = value.strip()
        if required and not value:
            self.add(where, f'"{key}" is required')
        if max_len is not None and len(value) > max_len:
            self.add(where, f'"{key}" is longer than {max_len} characters')
        return value

    def choice(
        self, where: str, table: dict[str, Any], key: str, allowed: tuple[str, ...], default: str
    ) -> str:
        value = table.get(key, default)
        if value not in allowed:
            self.add(
                where,
                f"{key} {value!r} is unknown (expected one of {', '.join(allowed)})"
                + suggestion(value, allowed),
            )
            return default
        return value

    def flag(self, where: str, table: dict[str, Any], key: str, default: bool) -> bool:
        value = table.get(key, default)
        if not isinstance(value, bool):
            self.add(where, f'"{key}" must be true or false')
            return default
        return value

    def whole(
        self,
        where: str,
        table: dict[str, Any],
        key: str,
        default: int | None,
        *,
        low: int = 0,
        high: int = 1_000_000,
    ) -> int | None:
        value = table.get(key, default)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.add(where, f'"{key}" must be a whole number from {low} to {high}')
            return default
        return value

    def code(self, where: str, value: Any, *, what: str = "code") -> str:
        if not isinstance(value, str) or not CODE_RE.match(value) or len(value) > 40:
            self.add(where, f"{what} {value!r} must be 1-40 lowercase letters, digits, '-' or '_'")
            return ""
        return value

    def translations(
        self, where: str, table: dict[str, Any], fields: set[str]
    ) -> dict[str, dict[str, str]]:
        raw = table.get("translations", {})
        if not isinstance(raw, dict):
            self.add(where, '"translations" must be a table of locales')
            return {}
        result: dict[str, dict[str, str]] = {}
        for locale, values in raw.items():
            if locale == "en" or not LOCALE_RE.match(locale):
                self.add(where, f'translation locale "{locale}" is not a language other than en')
                continue
            if not isinstance(values, dict):
                self.add(where, f"translations.{locale} must be a table")
                continue
            result[locale] = {}
            for field, text in values.items():
                if field not in fields:
                    self.add(
                        where,
                        f'translations.{locale} has unknown field "{field}" '
                        f"(expected {', '.join(sorted(fields))})",
                    )
                elif not isinstance(text, str) or not text.strip():
                    self.add(where, f"translations.{locale}.{field} must be non-empty text")
                else:
                    result[locale][field] = text.strip()
        return result

    def entries(self, where: str, data: dict[str, Any], key: str) -> list[dict[str, Any]]:
        value = data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            self.add(where, f'"{key}" must be an array of tables ([[{key}]])')
            return []
        return value

    def unique(self, what: str, codes: list[str]) -> None:
        for code, count in Counter(c for c in codes if c).items():
            if count > 1:
                self.problems.append(f'{what} "{code}" is defined {count} times')


def toml_file(path: Path) -> tuple[dict[str, Any] | None, str | None]:
    """The file's data, or why it cannot be read (``is not valid TOML: ... (at line 3,
    column 5)``, ``is not UTF-8 text: ...``, ``cannot be read: ...``)."""
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle), None
    except OSError as exc:
        return None, f"cannot be read: {exc.strerror or exc}"
    except tomllib.TOMLDecodeError as exc:
        return None, f"is not valid TOML: {exc}"
    except UnicodeDecodeError as exc:
        return None, f"is not UTF-8 text: {exc.reason}"


def read_catalogue(path: str | Path) -> dict[str, list[dict[str, Any]]]:
    """Parse and check the file; return column values by entity. Raises ``CatalogueError``."""
    path = Path(path)
    data, problem = toml_file(path)
    if data is None:
        raise CatalogueError(str(path), [str(problem)])
    check = Checker()
    check.keys("the file", data, {"departments", "groups", "categories"})
    spec: dict[str, list[dict[str, Any]]] = {
        "departments": [
            _department(check, raw) for raw in check.entries("file", data, "departments")
        ],
        "groups": [
            _group(check, raw, index)
            for index, raw in enumerate(check.entries("file", data, "groups"))
        ],
        "categories": [],
    }
    positions: Counter[str] = Counter()
    for raw in check.entries("file", data, "categories"):
        category = _category(check, raw, positions)
        spec["categories"].append(category)
    for key in ("departments", "groups", "categories"):
        if not spec[key]:
            check.add(
                "the file",
                f"has no {key} (a city needs at least one; to retire one, "
                "set active = false on it)",
            )
    check.unique("department", [d["code"] for d in spec["departments"]])
    check.unique("group", [g["code"] for g in spec["groups"]])
    check.unique("category", [c["code"] for c in spec["categories"]])
    if check.problems:
        raise CatalogueError(str(path), check.problems)
    return spec


def _department(check: Checker, raw: dict[str, Any]) -> dict[str, Any]:
    where = f'department "{raw.get("code", "?")}"'
    check.keys(where, raw, _DEPARTMENT_KEYS)
    return {
        "code": check.code(where, raw.get("code")),
        "name": check.text(where, raw, "name", required=True, max_len=120),
        "email": _email(check, where, check.text(where, raw, "email", max_len=254)),
        "active": check.flag(where, raw, "active", True),
        "translations": check.translations(where, raw, {"name"}),
        "calendar": check.code(where, raw["calendar"], what="calendar")
        if raw.get("calendar") is not None
        else "",
        "assignment_mode": check.choice(where, raw, "assignment_mode", ASSIGNMENT_MODES, "queue"),
        "breach_actions": _breach_actions(check, where, raw.get("breach_actions", [])),
    }


def _email(check: Checker, where: str, email: str) -> str:
    """The address as written, when it is one (no look-up of its domain)."""
    if email:
        from email_validator import EmailNotValidError, validate_email

        try:
            validate_email(email, check_deliverability=False)
        except EmailNotValidError:
            check.add(where, f'email "{email}" is not an email address')
    return email


def _breach_actions(check: Checker, where: str, actions: Any) -> list[str]:
    if not isinstance(actions, list) or not all(isinstance(a, str) for a in actions):
        check.add(where, '"breach_actions" must be a list')
        return []
    for action in actions:
        if action not in BREACH_ACTIONS:
            check.add(
                where,
                f'breach action "{action}" is unknown (expected one of '
                f"{', '.join(BREACH_ACTIONS)})",
            )
    return [a for a in BREACH_ACTIONS if a in actions]


def _group(check: Checker, raw: dict[str, Any], index: int) -> dict[str, Any]:
    where = f'group "{raw.get("code", "?")}"'
    check.keys(where, raw, _GROUP_KEYS)
    return {
        "code": check.code(where, raw.get("code")),
        "name": check.text(where, raw, "name", required=True, max_len=120),
        "position": check.whole(where, raw, "position", index),
        "translations": check.translations(where, raw, {"name"}),
    }


def _category(check: Checker, raw: dict[str, Any], positions: Counter[str]) -> dict[str, Any]:
    where = f'category "{raw.get("code", "?")}"'
    check.keys(where, raw, _CATEGORY_KEYS)
    group = check.code(where, raw.get("group"), what="group")
    keywords = raw.get("keywords", [])
    if isinstance(keywords, str):
        keywords = keywords.split(",")
    if not isinstance(keywords, list) or not all(isinstance(k, str) for k in keywords):
        check.add(where, '"keywords" must be a list of words or phrases')
        keywords = []
    joined = ", ".join(k.strip() for k in keywords if k.strip())
    if len(joined) > 400:
        check.add(where, '"keywords" are longer than 400 characters in all')
    notice_level = raw.get("notice_level", "info")
    if notice_level not in NOTICE_LEVELS:
        check.add(where, f"notice_level {notice_level!r} must be one of {', '.join(NOTICE_LEVELS)}")
    questions = [_question(check, where, q) for q in check.entries(where, raw, "questions")]
    check.unique(f"{where}, question", [q["code"] for q in questions])
    position = check.whole(where, raw, "position", positions[group])
    positions[group] += 1
    asset_layer = (
        check.code(where, raw["asset_layer"], what="asset_layer")
        if raw.get("asset_layer") is not None
        else ""
    )
    asset_required = check.flag(where, raw, "asset_required", False)
    if asset_required and not raw.get("asset_layer"):
        check.add(where, "asset_required is set but no asset_layer says which assets to pick from")
    return {
        "code": check.code(where, raw.get("code")),
        "group": group,
        "department": check.code(where, raw.get("department"), what="department"),
        "name": check.text(where, raw, "name", required=True, max_len=120),
        "description": check.text(where, raw, "description", required=True),
        "keywords": joined,
        "notice": check.text(where, raw, "notice"),
        "notice_level": notice_level if notice_level in NOTICE_LEVELS else "info",
        "private": check.flag(where, raw, "private", False),
        "active": check.flag(where, raw, "active", True),
        "position": position,
        "retention_days": check.whole(
            where, raw, "retention_days", None, low=RETENTION_MIN, high=RETENTION_MAX
        ),
        "asset_layer": asset_layer,
        "asset_required": asset_required,
        "translations": check.translations(where, raw, {"name", "description", "notice"}),
        "questions": questions,
    }


def _question(check: Checker, category_where: str, raw: dict[str, Any]) -> dict[str, Any]:
    where = f'{category_where}, question "{raw.get("code", "?")}"'
    check.keys(where, raw, _QUESTION_KEYS)
    kind = raw.get("kind")
    if kind not in QUESTION_KINDS:
        check.add(
            where,
            f"kind {kind!r} is unknown (expected one of {', '.join(QUESTION_KINDS)})"
            + suggestion(kind, QUESTION_KINDS),
        )
    options = _options(check, where, kind, raw.get("options", []))
    stop_values = raw.get("stop_values", [])
    stop_message = check.text(where, raw, "stop_message")
    if not isinstance(stop_values, list) or not all(isinstance(v, str) for v in stop_values):
        check.add(where, '"stop_values" must be a list of answers')
        stop_values = []
    if stop_values:
        allowed = (
            YESNO_VALUES
            if kind == "yesno"
            else [o["key"] for o in options]
            if kind in CHOICE_KINDS
            else []
        )
        if not allowed:
            check.add(where, "only yes/no and choice questions can have stop_values")
        for value in stop_values:
            if allowed and value not in allowed:
                check.add(
                    where, f'stop value "{value}" is not one of the answers ({", ".join(allowed)})'
                )
        if allowed and set(allowed) <= set(stop_values):
            check.add(where, "every answer stops the form, so no request could be filed")
        if not stop_message:
            check.add(where, "stop_values need a stop_message telling the resident what to do")
    elif stop_message:
        check.add(where, "stop_message is set but no stop_values say when to show it")
    max_length = check.whole(where, raw, "max_length", None, low=1, high=10_000)
    if max_length is not None and kind != "text":
        check.add(where, "max_length is only for text questions")
    return {
        "code": check.code(where, raw.get("code")),
        "kind": kind if isinstance(kind, str) else "",
        "prompt": check.text(where, raw, "prompt", required=True, max_len=300),
        "help": check.text(where, raw, "help"),
        "required": check.flag(where, raw, "required", False),
        "options": options,
        "stop_values": list(stop_values),
        "stop_message": stop_message,
        "max_length": max_length,
        "active": check.flag(where, raw, "active", True),
        "translations": check.translations(where, raw, {"prompt", "help", "stop_message"}),
    }


def _options(check: Checker, where: str, kind: Any, raw: Any) -> list[dict[str, Any]]:
    if not isinstance(raw, list) or not all(isinstance(o, dict) for o in raw):
        check.add(where, '"options" must be a list of {key, label} tables')
        return []
    if kind not in CHOICE_KINDS:
        if raw:
            check.add(where, "options are only for single and multi questions")
        return []
    if len(raw) < 2:
        check.add(where, f"a {kind} question needs at least two options")
    options = []
    for option in raw:
        option_where = f'{where}, option "{option.get("key", "?")}"'
        check.keys(option_where, option, _OPTION_KEYS)
        entry: dict[str, Any] = {
            "key": check.code(option_where, option.get("key"), what="key"),
            "label": check.text(option_where, option, "label", required=True, max_len=200),
        }
        translations = check.translations(option_where, option, {"label"})
        if translations:
            entry["translations"] = translations
        options.append(entry)
    check.unique(f"{where}, option", [o["key"] for o in options])
    return options
