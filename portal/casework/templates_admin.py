"""Editing response templates: the canned replies the case page offers (no Flask here).

A template belongs to one department (offered on its cases) or to none (offered city-wide).
Templates are kept in order within their group (city-wide, or one department); moving one
renumbers its group 10, 20, 30... Retiring a template stops the case page offering it; it can
be reactivated. Nothing is ever deleted: replies already sent do not point at templates, but
the city's configuration folder names them by code.

Every change writes an ``AuditEntry`` (entity ``response_template``) with the template before
and after. Edit forms carry ``fingerprint(snapshot)`` of what they were drawn from: a different
fingerprint on save raises ``TemplateConflict`` (the view reads the row ``FOR UPDATE`` first, so
two saves cannot both pass the check).

Errors are ``TemplateError.errors``: ``{field: code}``; ``details`` holds the unknown
placeholder of a body field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from portal.auth.models import User
from portal.casework.models import ResponseTemplate
from portal.casework.placeholders import PLACEHOLDERS, placeholder_problem
from portal.catalogue.models import Department
from portal.core import clock
from portal.core.audit import AuditEntry
from portal.core.editing import fingerprint

#: The same rules as a code in the city's configuration (``templates.toml``).
CODE_RE = re.compile(r"^[a-z0-9]+(?:[_-][a-z0-9]+)*\Z")
CODE_MAX = 40
TITLE_MAX = 120
BODY_MAX = 5000
#: The list shows at most this many templates (a city has dozens).
MAX_ROWS = 500
ENTITY = "response_template"
_PLACEHOLDER_RE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


class TemplateError(ValueError):
    """What is wrong, as ``{field: code}``. Fields: code, department, title, body and
    ``title_<locale>`` / ``body_<locale>``. Codes: required, too_long, invalid, taken, unknown,
    inactive, placeholder (``details[field]`` is the placeholder's name)."""

    def __init__(self, errors: dict[str, str], details: dict[str, str] | None = None) -> None:
        super().__init__(", ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors
        self.details = details or {}


class TemplateConflict(Exception):
    """The template changed since the form was drawn."""


@dataclass(frozen=True)
class TemplateInput:
    title: str
    body: str
    department_id: int | None = None
    #: Only for a new template: a code cannot change (the configuration folder names it).
    code: str = ""
    #: Locale -> {"title", "body"} for the languages the form offered; an empty text is
    #: removed (the English one is used). Languages not given are kept as they are.
    translations: Mapping[str, Mapping[str, str]] = field(default_factory=dict)


def list_templates(session: Session) -> list[ResponseTemplate]:
    """Every template (active or not): city-wide first, then by department id, each group in
    order (position, then id). At most ``MAX_ROWS + 1``, so a caller can tell it was cut."""
    return list(
        session.scalars(
            select(ResponseTemplate)
            .order_by(
                ResponseTemplate.department_id.is_not(None),
                ResponseTemplate.department_id,
                ResponseTemplate.position,
                ResponseTemplate.id,
            )
            .limit(MAX_ROWS + 1)
        )
    )


def snapshot(template: ResponseTemplate) -> dict[str, Any]:
    translations = template.translations or {}
    return {
        "code": template.code,
        "department_id": template.department_id,
        "title": template.title,
        "body": template.body,
        "active": bool(template.active),
        "position": template.position,
        "translations": {locale: dict(values) for locale, values in sorted(translations.items())},
    }


def _audit(
    session: Session,
    *,
    actor: User | None,
    template_id: int,
    action: str,
    before: dict[str, Any],
    after: dict[str, Any],
) -> None:
    session.add(
        AuditEntry(
            actor_id=actor.id if actor else None,
            entity=ENTITY,
            entity_id=str(template_id),
            action=action,
            before=before,
            after=after,
            created_at=clock.now(),
        )
    )
    session.flush()


def unknown_placeholder(text: str) -> str | None:
    """The first ``{name}`` in ``text`` the case page cannot fill (``PLACEHOLDERS``)."""
    if placeholder_problem(text) is None:
        return None
    return next((name for name in _PLACEHOLDER_RE.findall(text) if name not in PLACEHOLDERS), None)


def _text(
    raw: str | None,
    key: str,
    max_len: int,
    errors: dict[str, str],
    *,
    required: bool,
    one_line: bool,
) -> str:
    raw = raw or ""
    text = " ".join(raw.split()) if one_line else raw.replace("\r\n", "\n").strip()
    if not text:
        if required:
            errors[key] = "required"
    elif len(text) > max_len:
        errors[key] = "too_long"
    return text


def _body(
    raw: str | None, key: str, errors: dict[str, str], details: dict[str, str], *, required: bool
) -> str:
    body = _text(raw, key, BODY_MAX, errors, required=required, one_line=False)
    if key not in errors:
        name = unknown_placeholder(body)
        if name is not None:
            errors[key] = "placeholder"
            details[key] = name
    return body


def _clean(
    session: Session, data: TemplateInput, template: ResponseTemplate | None
) -> dict[str, Any]:
    errors: dict[str, str] = {}
    details: dict[str, str] = {}
    values: dict[str, Any] = {}
    if template is None:
        code = (data.code or "").strip().lower()
        if not code:
            errors["code"] = "required"
        elif len(code) > CODE_MAX:
            errors["code"] = "too_long"
        elif not CODE_RE.match(code):
            errors["code"] = "invalid"
        elif session.scalar(select(ResponseTemplate.id).where(ResponseTemplate.code == code)):
            errors["code"] = "taken"
        values["code"] = code
    if data.department_id is not None:
        department = session.get(Department, data.department_id)
        if department is None:
            errors["department"] = "unknown"
        elif not department.active and (
            template is None or template.department_id != department.id
        ):
            errors["department"] = "inactive"
    values["department_id"] = data.department_id
    values["title"] = _text(data.title, "title", TITLE_MAX, errors, required=True, one_line=True)
    values["body"] = _body(data.body, "body", errors, details, required=True)
    translations = {
        locale: dict(texts)
        for locale, texts in ((template.translations or {}) if template else {}).items()
    }
    for locale, given in data.translations.items():
        title = _text(
            given.get("title"), f"title_{locale}", TITLE_MAX, errors, required=False, one_line=True
        )
        body = _body(given.get("body"), f"body_{locale}", errors, details, required=False)
        texts = {key: text for key, text in (("title", title), ("body", body)) if text}
        if texts:
            translations[locale] = texts
        else:
            translations.pop(locale, None)
    values["translations"] = translations
    if errors:
        raise TemplateError(errors, details)
    return values


def _write(session: Session) -> None:
    """Flush inside a savepoint, turning a code taken meanwhile into a form error."""
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as error:
        raise TemplateError({"code": "taken"}) from error


def _group(
    session: Session, department_id: int | None, *, lock: bool = False
) -> list[ResponseTemplate]:
    """The templates of one group (a department's, or the city-wide ones), in order; read
    ``FOR UPDATE`` with ``lock`` (two moves in one group at once cannot interleave)."""
    where = (
        ResponseTemplate.department_id.is_(None)
        if department_id is None
        else ResponseTemplate.department_id == department_id
    )
    statement = (
        select(ResponseTemplate)
        .where(where)
        .order_by(ResponseTemplate.position, ResponseTemplate.id)
        .limit(MAX_ROWS)
    )
    if lock:
        statement = statement.with_for_update()
    return list(session.scalars(statement))


def _next_position(session: Session, department_id: int | None) -> int:
    group = _group(session, department_id)
    return (max((t.position for t in group), default=0)) + 10


def create_template(
    session: Session, data: TemplateInput, *, actor: User | None
) -> ResponseTemplate:
    """A new, active template at the end of its group, or ``TemplateError``."""
    values = _clean(session, data, None)
    template = ResponseTemplate(
        active=True,
        created_at=clock.now(),
        position=_next_position(session, values["department_id"]),
        **values,
    )
    session.add(template)
    _write(session)
    _audit(
        session,
        actor=actor,
        template_id=template.id,
        action="created",
        before={},
        after=snapshot(template),
    )
    return template


def _check(expected: str | None, before: dict[str, Any]) -> None:
    if expected is not None and expected != fingerprint(before):
        raise TemplateConflict()


def update_template(
    session: Session,
    template: ResponseTemplate,
    data: TemplateInput,
    *,
    actor: User | None,
    expected: str | None = None,
) -> ResponseTemplate:
    """Change a template (not its code), or raise ``TemplateConflict`` / ``TemplateError``
    (``expected`` is the fingerprint the form was drawn with). A template moved to another
    group goes to the end of it."""
    before = snapshot(template)
    _check(expected, before)
    values = _clean(session, data, template)
    if values["department_id"] != template.department_id:
        values["position"] = _next_position(session, values["department_id"])
    for key, value in values.items():
        setattr(template, key, value)
    after = snapshot(template)
    if after == before:
        return template
    _write(session)
    _audit(
        session, actor=actor, template_id=template.id, action="updated", before=before, after=after
    )
    return template


def set_active(
    session: Session, template: ResponseTemplate, active: bool, *, actor: User | None
) -> bool:
    """Retire (``active=False``) or reactivate a template; ``False`` when it already was."""
    if bool(template.active) == active:
        return False
    before = snapshot(template)
    template.active = active
    session.flush()
    _audit(
        session,
        actor=actor,
        template_id=template.id,
        action="reactivated" if active else "retired",
        before=before,
        after=snapshot(template),
    )
    return True


def move_template(
    session: Session, template: ResponseTemplate, *, direction: str, actor: User | None
) -> bool:
    """Move ``template`` one place up or down within its group; ``False`` when it is already
    at that end. The group is renumbered 10, 20, 30... so ties never hide the order."""
    if direction not in ("up", "down"):
        raise ValueError(f"unknown direction {direction!r}")
    group = _group(session, template.department_id, lock=True)
    index = next((i for i, t in enumerate(group) if t.id == template.id), None)
    if index is None:
        return False
    other = index - 1 if direction == "up" else index + 1
    if other < 0 or other >= len(group):
        return False
    before = snapshot(template)
    group[index], group[other] = group[other], group[index]
    for i, row in enumerate(group):
        if row.position != (i + 1) * 10:
            row.position = (i + 1) * 10
    session.flush()
    _audit(
        session,
        actor=actor,
        template_id=template.id,
        action=f"moved_{direction}",
        before=before,
        after=snapshot(template),
    )
    return True
