"""Back office: the city's settings, read-only (admins only). They change by editing the city's
``city.toml`` and running ``flask city import``; this page says what they are, where they come
from and what the environment supplies in their place."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Blueprint, current_app, render_template
from flask_babel import gettext as _

from portal.access import ADMIN, staff_required
from portal.city import overview
from portal.city.models import PROFILE_ID, CityProfile
from portal.city.profile import mail_setting
from portal.i18n import LANGUAGE_NAMES
from portal.web import db_session, settings

bp = Blueprint("city_profile", __name__, url_prefix="/staff/admin/city")


@dataclass(frozen=True)
class Row:
    label: str
    value: str
    #: Where it is in city.toml.
    key: str


def _language(code: str) -> str:
    return f"{LANGUAGE_NAMES.get(code, code)} ({code})"


def _rows(profile: CityProfile) -> list[Row]:
    return [
        Row(_("Name"), profile.name, "name"),
        Row(_("Short name"), profile.short_name, "short_name"),
        Row(_("Contact line"), profile.contact, "contact"),
        Row(_("Emergency number"), profile.emergency_number, "emergency_number"),
        Row(_("Time zone"), profile.timezone, "timezone"),
        Row(
            _("Languages"),
            ", ".join(_language(c) for c in profile.languages or ["en"]),
            "languages",
        ),
        Row(_("Default language"), _language(profile.default_language), "default_language"),
        Row(_("Base URL"), profile.base_url, "base_url"),
        Row(_("Open311 jurisdiction"), profile.open311_jurisdiction, "[open311] jurisdiction"),
        Row(_("Open311 contact"), profile.open311_contact, "[open311] contact"),
        Row(_("Mail domain"), mail_setting(profile, "domain"), "[mail] domain"),
        Row(_("Intake address"), mail_setting(profile, "intake"), "[mail] intake"),
        Row(
            _("Category of new emails"),
            mail_setting(profile, "intake_category"),
            "[mail] intake_category",
        ),
    ]


#: The translated fields of city.toml, in the order the page lists them.
_TRANSLATED = ("name", "short_name", "contact")


def _translations(profile: CityProfile) -> list[tuple[str, list[Row]]]:
    labels = {"name": _("Name"), "short_name": _("Short name"), "contact": _("Contact line")}
    result = []
    for locale, texts in sorted((profile.translations or {}).items()):
        rows = [
            Row(labels[key], texts[key], f"translations.{locale}.{key}")
            for key in _TRANSLATED
            if texts.get(key)
        ]
        if rows:
            result.append((_language(locale), rows))
    return result


def _in_use() -> list[Row]:
    """Before any import: the values the portal uses, from the environment or defaults."""
    current = settings()
    return [
        Row(_("Name"), current.city_name, "PORTAL_CITY_NAME"),
        Row(_("Short name"), current.short_name, ""),
        Row(_("Time zone"), current.timezone, "PORTAL_TIMEZONE"),
        Row(_("Languages"), ", ".join(_language(c) for c in current.languages), ""),
        Row(_("Base URL"), current.base_url, "PORTAL_BASE_URL"),
    ]


@bp.get("/", endpoint="overview")
@staff_required(ADMIN)
def overview_page() -> Any:
    """``city_profile.overview``: the imported profile, or how to import one."""
    profile = db_session().get(CityProfile, PROFILE_ID)
    current = settings()
    context: dict[str, Any] = {"profile": profile}
    if profile is None:
        context["in_use"] = _in_use()
    else:
        base = current_app.extensions["portal.settings"]
        context.update(
            rows=_rows(profile),
            translations=_translations(profile),
            source_file=overview.source_file(profile),
            folder=profile.source or "FOLDER",
            logo_version=current.logo_version if profile.logo_filename else "",
            overrides=overview.environment_overrides(base, profile, current),
            setting_names={
                "mail_from": _("Sender of emails"),
                "base_url": _("Base URL"),
                "open311_jurisdiction": _("Open311 jurisdiction"),
                "open311_contact": _("Open311 contact"),
                "mail_domain": _("Mail domain"),
                "mail_intake": _("Intake address"),
                "mail_intake_category": _("Category of new emails"),
            },
        )
    return render_template("city/profile/overview.html", **context)
