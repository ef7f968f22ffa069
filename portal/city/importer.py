"""Write a checked city configuration (``portal.city.folder.CitySpec``) in one transaction.

Everything is matched by its code (policies and rules by name, questions by code within their
category) and only what differs is written, so importing the same folder twice changes nothing.
Nothing that requests may point at is ever deleted: a department, category, area, question,
policy, rule or template missing from the folder is deactivated; a calendar missing from the
folder is kept (clocks count on it); a service group missing from the folder is deleted only
when no category is in it. The caller commits (``flask city import`` once, at the end).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session, selectinload

from portal.areas.models import Area
from portal.assist.articles import sync_articles
from portal.casework.models import ResponseTemplate
from portal.catalogue.models import CategoryQuestion, Department, ServiceCategory, ServiceGroup
from portal.city.folder import CATALOGUE, CityConfigError, CitySpec
from portal.city.models import PROFILE_ID, CityProfile
from portal.core.audit import AuditEntry
from portal.places import importer as places
from portal.places.models import AssetLayer
from portal.requests.models import ServiceRequest
from portal.routing.models import RoutingRule
from portal.sla.models import BusinessCalendar, CalendarClosure, SlaPolicy

#: The kinds of thing an import reports on, in the order the summary names them.
KINDS = (
    "city",
    "calendars",
    "departments",
    "groups",
    "categories",
    "questions",
    "areas",
    "policies",
    "rules",
    "templates",
    "addresses",
    "streets",
    "asset_layers",
    "assets",
    "articles",
)
OUTCOMES = ("added", "changed", "unchanged", "deactivated", "kept", "deleted")


@dataclass
class ImportSummary:
    """Per kind, how many were added, changed, unchanged, deactivated, kept or deleted."""

    counts: dict[str, Counter[str]] = field(
        default_factory=lambda: {kind: Counter() for kind in KINDS}
    )

    def note(self, kind: str, outcome: str, number: int = 1) -> None:
        self.counts[kind][outcome] += number

    @property
    def changed_anything(self) -> bool:
        return any(
            counter[o]
            for counter in self.counts.values()
            for o in ("added", "changed", "deactivated", "deleted")
        )

    def as_dict(self) -> dict[str, dict[str, int]]:
        return {
            kind: {o: c[o] for o in OUTCOMES if c[o]}
            for kind, c in self.counts.items()
            if any(c.values())
        }

    def lines(self) -> list[str]:
        """``3 categories added, 1 changed, 0 unchanged; 2 deactivated (not in the folder)``."""
        lines = []
        for kind in KINDS:
            c = self.counts[kind]
            if not any(c.values()):
                continue
            name = {"city": "city profile", "asset_layers": "asset layers"}.get(kind, kind)
            text = f"{name}: {c['added']} added, {c['changed']} changed, {c['unchanged']} unchanged"
            extra = [f"{c[o]} {o}" for o in ("deactivated", "kept", "deleted") if c[o]]
            if extra:
                text += "; not in the folder: " + ", ".join(extra)
            lines.append(text)
        return lines


#: Audit entities of back-office changes to what the folder describes.
CONFIGURATION_ENTITIES = (
    "department",
    "group",
    "category",
    "question",
    "response_template",
    "areas",
    "business_calendar",
    "department_sla",
    "sla_policy",
    "routing_rule",
)


def back_office_changes(session: Session) -> int:
    """Changes made in the back office since the last import: an import of a folder that
    lacks them undoes them (``flask city export`` first keeps them)."""
    last = session.scalar(
        select(func.max(AuditEntry.created_at)).where(
            AuditEntry.entity == "city", AuditEntry.action == "import"
        )
    )
    query = (
        select(func.count())
        .select_from(AuditEntry)
        .where(AuditEntry.entity.in_(CONFIGURATION_ENTITIES))
    )
    if last is not None:
        query = query.where(AuditEntry.created_at > last)
    return session.scalar(query) or 0


def database_problems(session: Session, spec: CitySpec) -> list[str]:
    """What the folder asks that the database cannot take: retyping a question residents may
    have answered (deactivate it and add one with a new code instead)."""
    categories = {
        c.code: c
        for c in session.scalars(
            select(ServiceCategory)
            .where(ServiceCategory.code.in_([c["code"] for c in spec.categories]))
            .options(selectinload(ServiceCategory.all_questions))
        )
    }
    problems = []
    for entry in spec.categories:
        category = categories.get(entry["code"])
        if category is None:
            continue
        current = {q.code: q for q in category.all_questions}
        retyped = [
            (q, current[q["code"]].kind)
            for q in entry["questions"]
            if q["code"] in current and current[q["code"]].kind != q["kind"]
        ]
        if retyped and session.scalar(
            select(exists().where(ServiceRequest.category_id == category.id))
        ):
            for question, old_kind in retyped:
                problems.append(
                    f'{CATALOGUE}: category "{entry["code"]}", question "{question["code"]}": '
                    f"kind cannot change from {old_kind} to {question['kind']} once residents "
                    "have filed in the category (their answers would be misread): set "
                    "active = false on it and add a question with a new code"
                )
    return problems


def import_city(
    session: Session, spec: CitySpec, *, now: datetime, actor_id: int | None = None
) -> ImportSummary:
    """Write ``spec`` (flush, no commit). Raises ``CityConfigError`` before writing anything
    when the database cannot take it (``database_problems``)."""
    problems = database_problems(session, spec)
    if problems:
        raise CityConfigError(spec.folder, problems)
    summary = ImportSummary()
    _profile(session, spec, summary, now)
    calendars = _calendars(session, spec.calendars, summary, now)
    departments = _upsert(
        session,
        Department,
        "code",
        [
            {
                **{k: v for k, v in d.items() if k != "calendar"},
                "calendar_id": calendars[d["calendar"]].id if d["calendar"] else None,
            }
            for d in spec.departments
        ],
        "departments",
        summary,
    )
    groups = _groups(session, spec.groups, summary)
    # Areas and places first: a category names its asset layer by code.
    areas = _upsert(session, Area, "code", spec.areas, "areas", summary)
    _places(session, spec, areas, summary)
    layers = {code: id_ for code, id_ in session.execute(select(AssetLayer.code, AssetLayer.id))}
    categories = _upsert(
        session,
        ServiceCategory,
        "code",
        [
            {
                **{
                    k: v
                    for k, v in c.items()
                    if k not in ("group", "department", "questions", "asset_layer")
                },
                "group_id": groups[c["group"]].id,
                "department_id": departments[c["department"]].id,
                "asset_layer_id": layers.get(c["asset_layer"]) if c["asset_layer"] else None,
            }
            for c in spec.categories
        ],
        "categories",
        summary,
        load=[selectinload(ServiceCategory.all_questions)],
    )
    for entry in spec.categories:
        _questions(categories[entry["code"]], entry["questions"], summary)
    _delete_unused_groups(session, {g["code"] for g in spec.groups}, summary)

    def ids(entry: dict[str, Any]) -> dict[str, int | None]:
        return {
            "category_id": categories[entry["category"]].id if entry.get("category") else None,
            "department_id": departments[entry["department"]].id
            if entry.get("department")
            else None,
            "area_id": areas[entry["area"]].id if entry.get("area") else None,
        }

    _upsert(
        session,
        SlaPolicy,
        "name",
        [
            {
                **{k: v for k, v in p.items() if k not in ("category", "department", "area")},
                **ids(p),
                "updated_at": now,
            }
            for p in spec.policies
        ],
        "policies",
        summary,
        ignore=("updated_at",),
    )
    _upsert(
        session,
        RoutingRule,
        "name",
        [
            {
                **{k: v for k, v in r.items() if k not in ("category", "department", "area")},
                **ids(r),
                "updated_at": now,
            }
            for r in spec.rules
        ],
        "rules",
        summary,
        ignore=("updated_at",),
    )
    _code_templates(session)
    _upsert(
        session,
        ResponseTemplate,
        "code",
        [
            {
                **{k: v for k, v in t.items() if k != "department"},
                "department_id": departments[t["department"]].id if t["department"] else None,
            }
            for t in spec.templates
        ],
        "templates",
        summary,
    )
    changed = sync_articles(session, spec.articles, now=now)
    for outcome in changed:
        summary.note("articles", "added" if outcome.startswith("added ") else "changed")
    if len(spec.articles) > len(changed):
        summary.note("articles", "unchanged", len(spec.articles) - len(changed))
    session.flush()
    if summary.changed_anything:
        session.add(
            AuditEntry(
                actor_id=actor_id,
                entity="city",
                entity_id=str(PROFILE_ID),
                action="import",
                before={},
                after={"folder": spec.folder, **summary.as_dict()},
                created_at=now,
            )
        )
        session.flush()
    return summary


def _places(
    session: Session, spec: CitySpec, areas: dict[str, Area], summary: ImportSummary
) -> None:
    """Addresses, streets and assets (``portal.places.importer``): every problem of the three
    is listed before the caller rolls back."""
    folder = Path(spec.folder)
    problems: list[str] = []
    steps: list[tuple[tuple[str, ...], Callable[[], Any]]] = [
        (
            ("addresses",),
            lambda: places.import_addresses(
                session,
                spec.addresses,
                [(area.id, area.geometry) for area in areas.values() if area.active],
            ),
        ),
        (("streets",), lambda: places.import_streets(session, spec.streets)),
        (
            ("asset_layers", "assets"),
            lambda: places.import_asset_layers(session, spec.asset_layers, folder=folder),
        ),
    ]
    for kinds, step in steps:
        try:
            result = step()
        except places.PlacesError as exc:
            problems.extend(exc.problems)
            continue
        for kind, counts in zip(kinds, result if len(kinds) > 1 else (result,), strict=True):
            for outcome, number in counts.items():
                summary.note(kind, outcome, number)
    if problems:
        raise CityConfigError(spec.folder, problems)


def _code_templates(session: Session) -> None:
    """Templates made before they had codes get the one ``flask city export`` wrote for them
    (``template-<id>``), so importing an export finds them instead of adding copies."""
    for template in session.scalars(
        select(ResponseTemplate).where(ResponseTemplate.code.is_(None))
    ):
        template.code = f"template-{template.id}"
    session.flush()


def _differs(row: Any, values: dict[str, Any], ignore: Iterable[str] = ()) -> bool:
    return any(getattr(row, key) != value for key, value in values.items() if key not in ignore)


def _set(row: Any, values: dict[str, Any]) -> None:
    for key, value in values.items():
        if getattr(row, key) != value:
            setattr(row, key, value)


def _upsert(
    session: Session,
    model: Any,
    key: str,
    entries: list[dict[str, Any]],
    kind: str,
    summary: ImportSummary,
    *,
    ignore: Iterable[str] = (),
    load: Iterable[Any] = (),
) -> dict[str, Any]:
    """Add or change each entry, matched on ``key``; deactivate active rows not listed.
    Returns the listed rows by key (flushed, so they have ids)."""
    ignore = tuple(ignore)
    rows: dict[str, Any] = {}
    extra: list[Any] = []
    for row in session.scalars(select(model).order_by(model.id).options(*load)):
        # Rows made in the back office may lack a code or repeat a name: the first of a
        # name is the one the folder describes; the others are not in the folder.
        if getattr(row, key) is None or getattr(row, key) in rows:
            extra.append(row)
        else:
            rows[getattr(row, key)] = row
    listed = {entry[key] for entry in entries}
    for entry in entries:
        row = rows.get(entry[key])
        if row is None:
            rows[entry[key]] = row = model(**entry)
            session.add(row)
            summary.note(kind, "added")
        elif _differs(row, entry, ignore):
            _set(row, entry)
            summary.note(kind, "changed")
        else:
            summary.note(kind, "unchanged")
    for row in [*extra, *(r for k, r in rows.items() if k not in listed)]:
        if row.active:
            row.active = False
            summary.note(kind, "deactivated")
    session.flush()
    return {k: r for k, r in rows.items() if k in listed}


def _profile(session: Session, spec: CitySpec, summary: ImportSummary, now: datetime) -> None:
    values = {**spec.city, "source": spec.folder}
    profile = session.get(CityProfile, PROFILE_ID)
    if profile is None:
        session.add(CityProfile(id=PROFILE_ID, **values, updated_at=now))
        summary.note("city", "added")
    elif _differs(profile, values, ignore=("source",)):
        _set(profile, {**values, "updated_at": now})
        summary.note("city", "changed")
    else:
        profile.source = spec.folder
        summary.note("city", "unchanged")


def _calendars(
    session: Session, entries: list[dict[str, Any]], summary: ImportSummary, now: datetime
) -> dict[str, BusinessCalendar]:
    rows = {
        c.code: c
        for c in session.scalars(
            select(BusinessCalendar).options(selectinload(BusinessCalendar.closures))
        )
    }
    for entry in entries:
        values = {k: v for k, v in entry.items() if k != "closures"}
        closures = [(c["day"], c["name"]) for c in entry["closures"]]
        calendar = rows.get(entry["code"])
        if calendar is None:
            calendar = rows[entry["code"]] = BusinessCalendar(
                **values, created_at=now, updated_at=now
            )
            session.add(calendar)
            summary.note("calendars", "added")
        elif _differs(calendar, values) or [(c.day, c.name) for c in calendar.closures] != closures:
            _set(calendar, {**values, "updated_at": now})
            summary.note("calendars", "changed")
        else:
            summary.note("calendars", "unchanged")
            continue
        _closures(calendar, closures, now)
    listed = {e["code"] for e in entries}
    summary.note("calendars", "kept", sum(code not in listed for code in rows))
    session.flush()
    return rows


def _closures(calendar: BusinessCalendar, wanted: list[tuple[Any, str]], now: datetime) -> None:
    by_day = {c.day: c for c in calendar.closures}
    days = {day for day, _ in wanted}
    for closure in list(calendar.closures):
        if closure.day not in days:
            calendar.closures.remove(closure)
    for day, name in wanted:
        if day in by_day:
            by_day[day].name = name
        else:
            calendar.closures.append(CalendarClosure(day=day, name=name, created_at=now))


def _groups(
    session: Session, entries: list[dict[str, Any]], summary: ImportSummary
) -> dict[str, ServiceGroup]:
    rows = {g.code: g for g in session.scalars(select(ServiceGroup))}
    for entry in entries:
        group = rows.get(entry["code"])
        if group is None:
            rows[entry["code"]] = ServiceGroup(**entry)
            session.add(rows[entry["code"]])
            summary.note("groups", "added")
        elif _differs(group, entry):
            _set(group, entry)
            summary.note("groups", "changed")
        else:
            summary.note("groups", "unchanged")
    session.flush()
    return rows


def _delete_unused_groups(session: Session, listed: set[str], summary: ImportSummary) -> None:
    """A group not in the folder goes once none of its categories is left in it."""
    for group in session.scalars(select(ServiceGroup).where(ServiceGroup.code.not_in(listed))):
        if session.scalar(select(exists().where(ServiceCategory.group_id == group.id))):
            summary.note("groups", "kept")
        else:
            session.delete(group)
            summary.note("groups", "deleted")
    session.flush()


def _questions(
    category: ServiceCategory, entries: list[dict[str, Any]], summary: ImportSummary
) -> None:
    current = {q.code: q for q in category.all_questions}
    listed = {e["code"] for e in entries}
    for position, entry in enumerate(entries):
        values = {**entry, "position": position}
        question = current.get(entry["code"])
        if question is None:
            category.all_questions.append(CategoryQuestion(**values))
            summary.note("questions", "added")
        elif _differs(question, values):
            _set(question, values)
            summary.note("questions", "changed")
        else:
            summary.note("questions", "unchanged")
    # Questions no longer listed keep their answers: switched off, after the listed ones.
    for position, question in enumerate(
        (q for q in category.all_questions if q.code not in listed), start=len(entries)
    ):
        if question.active or question.position != position:
            if question.active:
                summary.note("questions", "deactivated")
            question.active = False
            question.position = position
