"""Write the live configuration as a city folder (``flask city export``), in the format
``portal.city.folder`` reads, so that exporting and importing into an empty database gives the
same configuration, and a city can keep it in git and read its changes as diffs.

The address points, streets and asset layers are written too (``portal.places.exporter``), and
the knowledge articles as they are now, admins' edits included (``articles/<slug>.toml``).
Staff are not part of it (``flask staff import`` reads their CSV); neither are requests.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import tomli_w
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from portal.areas.models import Area
from portal.assist.articles import article_files
from portal.casework.models import ResponseTemplate
from portal.catalogue.models import Department, ServiceCategory, ServiceGroup
from portal.city import folder as files
from portal.city.models import PROFILE_ID, CityProfile
from portal.city.profile import mail_setting
from portal.places.exporter import export_places
from portal.places.models import AssetLayer
from portal.routing.models import RoutingRule
from portal.sla.calendar import format_hours
from portal.sla.models import WEEKDAYS, BusinessCalendar, SlaPolicy

TARGETS = ("first_response", "resolution", "update")


def export_city(session: Session, folder: str | Path) -> list[str]:
    """Write every file of the configuration into ``folder`` (made if missing); return the
    names written. Raises ``ValueError`` when no city has been imported yet."""
    profile = session.get(CityProfile, PROFILE_ID)
    if profile is None:
        raise ValueError("no city configuration has been imported yet")
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    header = (
        f"# The configuration of {profile.name}, written by `flask city export`.\n"
        "# The format is in docs/city-configuration.md.\n\n"
    )
    names = lookups(session)
    written = {
        files.CITY: _city(profile),
        files.CATALOGUE: _catalogue(session, names),
        files.SERVICE_LEVELS: _service_levels(session, names),
        files.ROUTING: {
            "rules": [
                _rule(r, names)
                for r in session.scalars(
                    select(RoutingRule).order_by(RoutingRule.position, RoutingRule.id)
                )
            ]
        },
        files.TEMPLATES: {
            "templates": [
                _template(t, names)
                for t in session.scalars(
                    select(ResponseTemplate).order_by(
                        ResponseTemplate.position, ResponseTemplate.id
                    )
                )
            ]
        },
    }
    for name, data in written.items():
        (path / name).write_text(header + tomli_w.dumps(data), encoding="utf-8")
    (path / files.AREAS).write_text(_areas(session), encoding="utf-8")
    done = [*written, files.AREAS, *export_places(session, path)]
    pages = article_files(session)
    if pages:
        (path / files.ARTICLES).mkdir(exist_ok=True)
        for name, text in pages.items():
            (path / files.ARTICLES / name).write_text(text, encoding="utf-8")
            done.append(f"{files.ARTICLES}/{name}")
    if profile.logo and profile.logo_filename:
        (path / profile.logo_filename).write_bytes(profile.logo)
        done.append(profile.logo_filename)
    return done


def lookups(session: Session) -> dict[str, dict[int, str]]:
    """Codes by id of what the files refer to one another by."""
    return {
        "department": dict(session.execute(select(Department.id, Department.code)).all()),
        "group": dict(session.execute(select(ServiceGroup.id, ServiceGroup.code)).all()),
        "category": dict(session.execute(select(ServiceCategory.id, ServiceCategory.code)).all()),
        "area": dict(session.execute(select(Area.id, Area.code)).all()),
        "calendar": dict(session.execute(select(BusinessCalendar.id, BusinessCalendar.code)).all()),
        "asset_layer": dict(session.execute(select(AssetLayer.id, AssetLayer.code)).all()),
    }


def _some(**values: Any) -> dict[str, Any]:
    """The values worth writing: TOML has no null, and defaults are left out."""
    return {k: v for k, v in values.items() if v not in (None, "", [], {})}


def _city(profile: CityProfile) -> dict[str, Any]:
    data = _some(
        name=profile.name,
        short_name=profile.short_name,
        contact=profile.contact,
        emergency_number=profile.emergency_number,
        timezone=profile.timezone,
        languages=list(profile.languages),
        default_language=profile.default_language,
        base_url=profile.base_url,
        logo=profile.logo_filename if profile.logo else None,
        translations=profile.translations,
    )
    outbound = ((profile.settings or {}).get("open311") or {}).get("outbound")
    open311 = _some(
        jurisdiction=profile.open311_jurisdiction,
        contact=profile.open311_contact,
        outbound=[dict(entry) for entry in outbound] if isinstance(outbound, list) else None,
    )
    if open311:
        data["open311"] = open311
    mail = _some(
        domain=mail_setting(profile, "domain"),
        intake=mail_setting(profile, "intake"),
        intake_category=mail_setting(profile, "intake_category"),
    )
    if mail:
        data["mail"] = mail
    app = (profile.settings or {}).get("app")
    if isinstance(app, dict) and app:
        data["app"] = _some(
            short_name=app.get("short_name"),
            theme_color=app.get("theme_color"),
            background_color=app.get("background_color"),
        )
    return data


def _catalogue(session: Session, names: dict[str, dict[int, str]]) -> dict[str, Any]:
    departments = [
        _some(
            code=d.code,
            name=d.name,
            email=d.email,
            translations=d.translations,
            calendar=names["calendar"].get(d.calendar_id) if d.calendar_id else None,
            assignment_mode=d.assignment_mode if d.assignment_mode != "queue" else None,
            breach_actions=list(d.breach_actions or []),
        )
        | ({"active": False} if not d.active else {})
        for d in session.scalars(select(Department).order_by(Department.code))
    ]
    groups = [
        _some(code=g.code, name=g.name, translations=g.translations) | {"position": g.position}
        for g in session.scalars(
            select(ServiceGroup).order_by(ServiceGroup.position, ServiceGroup.id)
        )
    ]
    categories = [
        _category(c, names)
        for c in session.scalars(
            select(ServiceCategory)
            .join(ServiceGroup)
            .order_by(
                ServiceGroup.position, ServiceGroup.id, ServiceCategory.position, ServiceCategory.id
            )
            .options(selectinload(ServiceCategory.all_questions))
        )
    ]
    return {"departments": departments, "groups": groups, "categories": categories}


def _category(category: ServiceCategory, names: dict[str, dict[int, str]]) -> dict[str, Any]:
    keywords = [k.strip() for k in (category.keywords or "").split(",") if k.strip()]
    data = _some(
        code=category.code,
        group=names["group"][category.group_id],
        department=names["department"][category.department_id],
        name=category.name,
        description=category.description,
        keywords=keywords,
        notice=category.notice,
        notice_level=category.notice_level if category.notice_level != "info" else None,
        translations=category.translations,
    )
    data["position"] = category.position
    if category.private:
        data["private"] = True
    if not category.active:
        data["active"] = False
    if category.retention_days is not None:
        data["retention_days"] = category.retention_days
    if category.asset_layer_id is not None and category.asset_layer_id in names["asset_layer"]:
        data["asset_layer"] = names["asset_layer"][category.asset_layer_id]
        if category.asset_required:
            data["asset_required"] = True
    questions = [_question(q) for q in category.all_questions]
    if questions:
        data["questions"] = questions
    return data


def _question(question: Any) -> dict[str, Any]:
    data = _some(
        code=question.code,
        kind=question.kind,
        prompt=question.prompt,
        help=question.help,
        options=[dict(o) for o in question.options or []],
        stop_values=list(question.stop_values or []),
        stop_message=question.stop_message,
        max_length=question.max_length,
        translations=question.translations,
    )
    if question.required:
        data["required"] = True
    if not question.active:
        data["active"] = False
    return data


def _service_levels(session: Session, names: dict[str, dict[int, str]]) -> dict[str, Any]:
    calendars = []
    for calendar in session.scalars(
        select(BusinessCalendar)
        .order_by(BusinessCalendar.code)
        .options(selectinload(BusinessCalendar.closures))
    ):
        hours = {day: format_hours((calendar.hours or {}).get(day) or []) for day in WEEKDAYS}
        calendars.append(
            _some(
                code=calendar.code,
                name=calendar.name,
                timezone=calendar.timezone,
                always_open=calendar.always_open or None,
                hours={day: text for day, text in hours.items() if text},
                holiday_country=calendar.holiday_country,
                holiday_subdivision=calendar.holiday_subdivision,
                closures=[{"day": c.day, "name": c.name} for c in calendar.closures],
            )
        )
    policies = []
    for policy in session.scalars(select(SlaPolicy).order_by(SlaPolicy.position, SlaPolicy.id)):
        data = _some(
            name=policy.name,
            category=_name(names["category"], policy.category_id),
            priority=policy.priority,
            department=_name(names["department"], policy.department_id),
            area=_name(names["area"], policy.area_id),
            **{
                t: _target(getattr(policy, f"{t}_amount"), getattr(policy, f"{t}_unit"))
                for t in TARGETS
            },
        )
        data["pause_statuses"] = list(policy.pause_statuses or [])
        data["position"] = policy.position
        if not policy.active:
            data["active"] = False
        policies.append(data)
    return {"calendars": calendars, "policies": policies}


def _name(names: dict[int, str], key: int | None) -> str | None:
    """The name of an optional reference (None: no reference, or an unknown one)."""
    return names.get(key) if key is not None else None


def _target(amount: int | None, unit: str) -> str | None:
    if not amount:
        return None
    if unit == "calendar_days":
        return f"{amount} calendar day{'s' if amount != 1 else ''}"
    return f"{amount} working hour{'s' if amount != 1 else ''}"


def _rule(rule: RoutingRule, names: dict[str, dict[int, str]]) -> dict[str, Any]:
    data = _some(
        name=rule.name,
        category=_name(names["category"], rule.category_id),
        area=_name(names["area"], rule.area_id),
        channel=rule.channel,
        keywords=[k.strip() for k in (rule.keywords or "").split(",") if k.strip()],
        department=names["department"][rule.department_id],
    )
    data["position"] = rule.position
    if not rule.active:
        data["active"] = False
    return data


def _template(template: ResponseTemplate, names: dict[str, dict[int, str]]) -> dict[str, Any]:
    data = _some(
        code=template.code or f"template-{template.id}",
        title=template.title,
        body=template.body,
        department=_name(names["department"], template.department_id),
        translations=template.translations,
    )
    data["position"] = template.position
    if not template.active:
        data["active"] = False
    return data


def _areas(session: Session) -> str:
    features = []
    for area in session.scalars(select(Area).order_by(Area.code)):
        properties: dict[str, Any] = {"code": area.code, "name": area.name}
        if area.population is not None:
            properties["population"] = area.population
        if not area.active:
            properties["active"] = False
        features.append({"type": "Feature", "properties": properties, "geometry": area.geometry})
    lines = ",\n".join("    " + json.dumps(f, ensure_ascii=False) for f in features)
    return '{\n  "type": "FeatureCollection",\n  "features": [\n' + lines + "\n  ]\n}\n"
