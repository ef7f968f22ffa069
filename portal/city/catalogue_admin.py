"""The catalogue in the back office: departments, service groups, categories and questions.

Admins add, edit, reorder and deactivate them during the year; the city's configuration folder
(``flask city export``) then carries their changes. The rules are the configuration file's
(``portal.catalogue.loader``): an entry here is checked by building the same table a
``catalogue.toml`` would hold and reading it with the same checker, so a page can never store
what the file would refuse. No Flask here; functions flush, the request commits.

Every change is audited with the state before and after, and checked against the fingerprint
of the state the form was drawn from (``Conflict`` when someone saved meanwhile). Nothing is
deleted: residents' requests and answers point at these rows. A question's kind is fixed once
it exists (answers given under one kind would be misread under another): to ask differently,
deactivate it and add a question with a new code.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.auth.models import User
from portal.catalogue.loader import (
    Checker,
    _category,
    _department,
    _group,
    _question,
)
from portal.catalogue.models import CategoryQuestion, Department, ServiceCategory, ServiceGroup
from portal.core import clock
from portal.core.audit import AuditEntry
from portal.core.editing import fingerprint

#: Fields a form shows for each language the city uses besides English.
TRANSLATED = {
    "department": ("name",),
    "group": ("name",),
    "category": ("name", "description", "notice"),
    "question": ("prompt", "help", "stop_message"),
}


class CatalogueAdminError(ValueError):
    """What is wrong, as ``{field: message}`` (English, from the configuration checker, or a
    code: ``taken``, ``unknown``)."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


class Conflict(Exception):
    """The row changed since the form was drawn."""


_COLUMNS = {
    Department: ("code", "name", "email", "active", "translations"),
    ServiceGroup: ("code", "name", "position", "translations"),
    ServiceCategory: (
        "code",
        "group_id",
        "department_id",
        "name",
        "description",
        "keywords",
        "notice",
        "notice_level",
        "private",
        "active",
        "position",
        "translations",
    ),
    CategoryQuestion: (
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
        "position",
        "translations",
    ),
}
_ENTITY = {
    Department: "department",
    ServiceGroup: "group",
    ServiceCategory: "category",
    CategoryQuestion: "question",
}


def snapshot(row: Any) -> dict[str, Any]:
    return {column: getattr(row, column) for column in _COLUMNS[type(row)]}


def _audit(
    session: Session, row: Any, *, actor: User | None, action: str, before: dict[str, Any]
) -> None:
    session.add(
        AuditEntry(
            actor_id=actor.id if actor else None,
            entity=_ENTITY[type(row)],
            entity_id=str(row.id),
            action=action,
            before=before,
            after=snapshot(row),
            created_at=clock.now(),
        )
    )
    session.flush()


@dataclass
class Entry:
    """What a form sent: the plain fields (English), and the other languages' texts."""

    values: dict[str, Any]
    translations: dict[str, dict[str, str]] = field(default_factory=dict)

    def raw(self) -> dict[str, Any]:
        """The table a ``catalogue.toml`` would hold for it."""
        table = {k: v for k, v in self.values.items() if v is not None}
        wanted = {
            locale: {k: v for k, v in texts.items() if v and v.strip()}
            for locale, texts in self.translations.items()
        }
        table["translations"] = {locale: texts for locale, texts in wanted.items() if texts}
        return table


def _field_for(problem: str, fields: tuple[str, ...]) -> str:
    """The form field a checker's problem is about (its first quoted key, or a word)."""
    text = problem.split(": ", 1)[-1]
    for name in sorted(fields, key=len, reverse=True):
        if f'"{name}"' in text or text.startswith(name) or f"{name} " in text.split("(")[0]:
            return name
    for word, name in (
        ("option", "options"),
        ("stop", "stop_values"),
        ("translations.", "translations"),
        ("kind", "kind"),
        ("every answer", "stop_values"),
    ):
        if word in text and name in fields + ("translations",):
            return name
    return fields[0]


def _checked(read: Any, raw: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    check = Checker()
    values = read(check, raw)
    if check.problems:
        errors: dict[str, str] = {}
        for problem in check.problems:
            errors.setdefault(_field_for(problem, fields), problem.split(": ", 1)[-1])
        raise CatalogueAdminError(errors)
    return values


def _save(
    session: Session,
    model: Any,
    row: Any,
    values: dict[str, Any],
    *,
    actor: User | None,
    expected: str | None,
) -> Any:
    """Add (``row`` None) or change ``row`` to ``values``; audit; raise ``Conflict``."""
    if row is None:
        code_taken = session.scalar(select(model.id).where(model.code == values["code"]))
        if code_taken is not None:
            raise CatalogueAdminError({"code": "taken"})
        row = model(**values)
        session.add(row)
        session.flush()
        _audit(session, row, actor=actor, action="created", before={})
        return row
    before = snapshot(row)
    if expected is not None and expected != fingerprint(before):
        raise Conflict()
    for key, value in values.items():
        if key != "code" and getattr(row, key) != value:
            setattr(row, key, value)
    if snapshot(row) != before:
        session.flush()
        _audit(session, row, actor=actor, action="updated", before=before)
    return row


# --- departments and groups -----------------------------------------------------------------


def save_department(
    session: Session,
    department: Department | None,
    entry: Entry,
    *,
    actor: User | None,
    expected: str | None = None,
) -> Department:
    raw = entry.raw()
    if department is not None:
        raw["code"] = department.code
    values = _checked(
        lambda check, r: _department(check, r), raw, ("code", "name", "email", "active")
    )
    values = {k: values[k] for k in _COLUMNS[Department]}
    return _save(session, Department, department, values, actor=actor, expected=expected)


def save_group(
    session: Session,
    group: ServiceGroup | None,
    entry: Entry,
    *,
    actor: User | None,
    expected: str | None = None,
) -> ServiceGroup:
    raw = entry.raw()
    if group is not None:
        raw["code"], raw["position"] = group.code, group.position
    else:
        raw["position"] = (session.scalar(select(func.max(ServiceGroup.position))) or 0) + 1
    values = _checked(lambda check, r: _group(check, r, 0), raw, ("code", "name"))
    return _save(session, ServiceGroup, group, values, actor=actor, expected=expected)


# --- categories -------------------------------------------------------------------------------


def save_category(
    session: Session,
    category: ServiceCategory | None,
    entry: Entry,
    *,
    actor: User | None,
    expected: str | None = None,
) -> ServiceCategory:
    """``entry.values`` has ``group_id`` and ``department_id`` (ids, checked here)."""
    raw = entry.raw()
    group = session.get(ServiceGroup, raw.pop("group_id", None) or 0)
    department = session.get(Department, raw.pop("department_id", None) or 0)
    errors = {}
    if group is None:
        errors["group"] = "unknown"
    if department is None or (
        not department.active and (category is None or category.department_id != department.id)
    ):
        errors["department"] = "unknown"
    if errors:
        raise CatalogueAdminError(errors)
    assert group is not None and department is not None
    raw["group"], raw["department"] = group.code, department.code
    if category is not None:
        raw["code"] = category.code
        same_group = category.group_id == group.id
        raw["position"] = category.position if same_group else _next_position(session, group)
    else:
        raw["position"] = _next_position(session, group)
    raw["questions"] = []
    values = _checked(
        lambda check, r: _category(check, r, Counter()),
        raw,
        ("code", "name", "description", "keywords", "notice", "notice_level", "private", "active"),
    )
    # The asset layer is the city folder's to set (catalogue.toml), not this form's.
    kept = ("group", "department", "questions", "asset_layer", "asset_required")
    values = {k: v for k, v in values.items() if k not in kept}
    values.update(group_id=group.id, department_id=department.id)
    return _save(session, ServiceCategory, category, values, actor=actor, expected=expected)


def _next_position(session: Session, group: ServiceGroup) -> int:
    last = session.scalar(
        select(func.max(ServiceCategory.position)).where(ServiceCategory.group_id == group.id)
    )
    return 0 if last is None else last + 1


# --- questions --------------------------------------------------------------------------------


def parse_options(
    text: str, locales: tuple[str, ...]
) -> tuple[list[dict[str, Any]], tuple[int, str] | None]:
    """Options typed one per line as ``key | English label | <label in each other language>``.
    Returns the options and the first problem as ``(line, code)``: ``format`` (no key or
    label) or ``too_many`` (more labels than languages)."""
    options: list[dict[str, Any]] = []
    for number, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        parts = [part.strip() for part in line.split("|")]
        if len(parts) < 2 or not parts[0] or not parts[1]:
            return options, (number, "format")
        if len(parts) > 2 + len(locales):
            return options, (number, "too_many")
        option: dict[str, Any] = {"key": parts[0], "label": parts[1]}
        labels = {
            locale: {"label": label}
            for locale, label in zip(locales, parts[2:], strict=False)
            if label
        }
        if labels:
            option["translations"] = labels
        options.append(option)
    return options, None


def options_text(options: list[dict[str, Any]], locales: tuple[str, ...]) -> str:
    """The inverse of ``parse_options``."""
    lines = []
    for option in options or []:
        labels = [
            option.get("translations", {}).get(locale, {}).get("label", "") for locale in locales
        ]
        lines.append(" | ".join([option["key"], option["label"], *labels]).rstrip(" |"))
    return "\n".join(lines)


def save_question(
    session: Session,
    category: ServiceCategory,
    question: CategoryQuestion | None,
    entry: Entry,
    *,
    actor: User | None,
    expected: str | None = None,
) -> CategoryQuestion:
    """``entry.values`` has ``options`` as parsed by ``parse_options``; ``kind`` is ignored
    for an existing question (it never changes)."""
    raw = entry.raw()
    if question is not None:
        raw["code"], raw["kind"] = question.code, question.kind
    fields = (
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
    )
    values = _checked(lambda check, r: _question(check, "question", r), raw, fields)
    if question is None:
        if any(q.code == values["code"] for q in category.all_questions):
            raise CatalogueAdminError({"code": "taken"})
        values["position"] = len(category.all_questions)
        question = CategoryQuestion(category=category, **values)
        session.add(question)
        session.flush()
        _audit(session, question, actor=actor, action="created", before={})
        return question
    values["position"] = question.position
    return _save(session, CategoryQuestion, question, values, actor=actor, expected=expected)


# --- order ------------------------------------------------------------------------------------


def move(
    session: Session,
    row: ServiceGroup | ServiceCategory | CategoryQuestion,
    *,
    direction: str,
    actor: User | None,
) -> None:
    """Swap ``row`` with its neighbour (groups among groups, categories within their group,
    questions within their category), numbering the siblings 0, 1, 2, ... as it goes."""
    siblings: list[Any]
    if isinstance(row, ServiceGroup):
        siblings = list(
            session.scalars(select(ServiceGroup).order_by(ServiceGroup.position, ServiceGroup.id))
        )
    elif isinstance(row, ServiceCategory):
        siblings = list(
            session.scalars(
                select(ServiceCategory)
                .where(ServiceCategory.group_id == row.group_id)
                .order_by(ServiceCategory.position, ServiceCategory.id)
            )
        )
    else:
        siblings = list(row.category.all_questions)
    index = siblings.index(row)
    other = index - 1 if direction == "up" else index + 1
    if not 0 <= other < len(siblings):
        return
    before = snapshot(row)
    siblings[index], siblings[other] = siblings[other], siblings[index]
    for position, sibling in enumerate(siblings):
        sibling.position = position
    session.flush()
    _audit(session, row, actor=actor, action=f"moved_{direction}", before=before)
