"""Read ``city.toml``: the city's name, contact line, logo, time zone, languages, base URL and
mail addresses.

Every key is documented in ``docs/city-configuration.md``. Reading checks the whole file and
names every problem; the logo file it names is read from the same folder and checked by its
content (PNG, JPEG or SVG, at most ``LOGO_MAX_BYTES``).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from xml.etree import ElementTree

from email_validator import EmailNotValidError, validate_email
from PIL import Image, UnidentifiedImageError

from portal.catalogue.loader import Checker, suggestion, toml_file
from portal.core.destinations import UrlProblem, url_problem
from portal.core.replies import LOCAL_PREFIX
from portal.sla.calendar import valid_timezone

#: The languages the portal has translations for (English is built in).
KNOWN_LANGUAGES = ("en", "es")
LOGO_MAX_BYTES = 512 * 1024
LOGO_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg"}
_KEYS = {
    "name",
    "short_name",
    "contact",
    "emergency_number",
    "timezone",
    "default_language",
    "languages",
    "base_url",
    "logo",
    "translations",
    "open311",
    "performance",
    "mail",
    "app",
}
_OPEN311_KEYS = {"jurisdiction", "contact", "outbound"}
#: Keys of each ``[[open311.outbound]]`` table (a department served by an outside endpoint).
_OUTBOUND_KEYS = {
    "department",
    "name",
    "endpoint",
    "jurisdiction_id",
    "api_key_env",
    "service_code",
    "service_codes",
}
_ENV_NAME_RE = re.compile(r"^[A-Z_][A-Z0-9_]{0,119}\Z")
_MAIL_KEYS = {"domain", "intake", "intake_category"}
_APP_KEYS = {"short_name", "theme_color", "background_color"}
_PERFORMANCE_KEYS = {"public_shame_wall", "shame_wall", "translations"}
#: The name under a phone's home-screen icon: longer names are cut there (issue 21).
APP_SHORT_NAME_MAX = 12
_COLOUR_RE = re.compile(r"^#[0-9a-fA-F]{6}\Z")
_PHONE_RE = re.compile(r"^[0-9+() .-]{2,20}\Z")


def read_city(
    path: Path, check: Checker, *, allowed_networks: Iterable[str] = ()
) -> dict[str, Any]:
    """The profile's column values from ``path`` (problems go to ``check``);
    ``allowed_networks``: see ``_outbound``."""
    data = _toml(path, check)
    if data is None:
        return {}
    where = "the file"
    check.keys(where, data, _KEYS)
    values: dict[str, Any] = {
        "name": check.text(where, data, "name", required=True, max_len=120),
        "short_name": check.text(where, data, "short_name", required=True, max_len=40),
        "contact": check.text(where, data, "contact", max_len=300),
        "emergency_number": check.text(where, data, "emergency_number", max_len=20) or "911",
        "timezone": check.text(where, data, "timezone", required=True, max_len=64),
        "base_url": check.text(where, data, "base_url", max_len=300).rstrip("/"),
        "translations": check.translations(where, data, {"name", "short_name", "contact"}),
    }
    if values["timezone"] and not valid_timezone(values["timezone"]):
        check.add(
            where,
            f'timezone "{values["timezone"]}" is not an IANA time zone (like "America/Chicago")',
        )
    if not _PHONE_RE.match(values["emergency_number"]):
        check.add(where, f'emergency_number "{values["emergency_number"]}" is not a phone number')
    if values["base_url"]:
        parts = urlsplit(values["base_url"])
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query:
            check.add(
                where, f'base_url "{values["base_url"]}" must be like "https://311.example.gov"'
            )
    values.update(_languages(data, values["translations"], check))
    open311 = data.get("open311", {})
    if not isinstance(open311, dict):
        check.add(where, '"open311" must be a table ([open311])')
        open311 = {}
    check.keys("[open311]", open311, _OPEN311_KEYS)
    values["open311_jurisdiction"] = check.text("[open311]", open311, "jurisdiction", max_len=120)
    values["open311_contact"] = check.text("[open311]", open311, "contact", max_len=300)
    values.update(_logo(path.parent, data.get("logo"), check))
    values["settings"] = _plain(data)
    outbound = _outbound(open311, check, allowed_networks)
    plain_open311 = {k: v for k, v in open311.items() if k != "outbound"}
    if outbound:
        plain_open311["outbound"] = outbound
    if plain_open311:
        values["settings"]["open311"] = plain_open311
    else:
        values["settings"].pop("open311", None)
    mail = _mail(data, check)
    if mail:
        values["settings"]["mail"] = mail
    else:
        values["settings"].pop("mail", None)
    performance = _performance(data, check)
    if performance:
        values["settings"]["performance"] = performance
    else:
        values["settings"].pop("performance", None)
    app = _app(data, check)
    if app:
        values["settings"]["app"] = app
    else:
        values["settings"].pop("app", None)
    return values


def _outbound(
    open311: dict[str, Any], check: Checker, allowed_networks: Iterable[str] = ()
) -> list[dict[str, Any]]:
    """The ``[[open311.outbound]]`` tables: departments whose tasks go to an outside Open311
    endpoint. Each names its ``department`` (checked against catalogue.toml by the folder),
    the system's ``name``, its ``endpoint`` (the ``.../open311/v2/`` base URL), an optional
    ``jurisdiction_id``, the environment variable its API key is in (``api_key_env``: the
    key itself never goes in the file), and the service code to file under: ``service_code``
    for every category, ``service_codes`` by our category code (which wins). An endpoint the
    destination policy refuses from the URL alone (``portal.core.destinations``: a literal
    private or metadata address, plain http) is a problem unless ``allowed_networks`` allows
    it; its resolved addresses are checked at each call."""
    tables = open311.get("outbound", [])
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        check.add("[open311]", '"outbound" must be an array of tables ([[open311.outbound]])')
        return []
    result: list[dict[str, Any]] = []
    seen: set[str] = set()
    for index, table in enumerate(tables, start=1):
        where = f"[[open311.outbound]] #{index}"
        check.keys(where, table, _OUTBOUND_KEYS)
        entry: dict[str, Any] = {
            "department": check.text(where, table, "department", required=True, max_len=40),
            "name": check.text(where, table, "name", required=True, max_len=120),
            "endpoint": check.text(where, table, "endpoint", required=True, max_len=300),
            "jurisdiction_id": check.text(where, table, "jurisdiction_id", max_len=120),
            "api_key_env": check.text(where, table, "api_key_env", max_len=120),
            "service_code": check.text(where, table, "service_code", max_len=120),
        }
        if entry["department"] in seen:
            check.add(where, f'department "{entry["department"]}" is served by an endpoint above')
        seen.add(entry["department"])
        endpoint = entry["endpoint"]
        parts = urlsplit(endpoint)
        if endpoint and (
            parts.scheme not in ("http", "https")
            or not parts.netloc
            or parts.query
            or parts.fragment
            or not endpoint.endswith("/")
        ):
            check.add(
                where,
                f'endpoint "{endpoint}" must be an Open311 base URL ending in "/", like '
                '"https://works.example.gov/open311/v2/"',
            )
        elif endpoint and (problem := url_problem(endpoint, allowed_networks)) is not None:
            check.add(where, f'endpoint "{endpoint}": {_refusal_text(problem)}')
        if entry["api_key_env"] and not _ENV_NAME_RE.match(entry["api_key_env"]):
            check.add(
                where,
                f'api_key_env "{entry["api_key_env"]}" must name an environment variable '
                '(like "PORTAL_WORKS_API_KEY"), not hold the key',
            )
        codes = table.get("service_codes", {})
        if not isinstance(codes, dict) or not all(
            isinstance(k, str) and isinstance(v, str) and v.strip() and len(v) <= 120
            for k, v in codes.items()
        ):
            check.add(
                where,
                '"service_codes" must be a table of our category codes to their service codes '
                '(like { pothole = "PH-01" })',
            )
            codes = {}
        entry["service_codes"] = {k: v.strip() for k, v in codes.items()}
        if not entry["service_code"] and not entry["service_codes"]:
            check.add(where, 'needs "service_code" (for every category) or "service_codes"')
        result.append({k: v for k, v in entry.items() if v not in ("", {})})
    return result


def _refusal_text(problem: UrlProblem) -> str:
    if problem.code == "scheme":
        return (
            "must be https (plain http only goes to a network in PORTAL_OUTBOUND_ALLOWED_NETWORKS)"
        )
    return (
        f"{problem.detail}: the portal does not connect to private, loopback, link-local or "
        "metadata addresses unless PORTAL_OUTBOUND_ALLOWED_NETWORKS includes them"
    )


def _app(data: dict[str, Any], check: Checker) -> dict[str, str]:
    """The ``[app]`` table: the installed web app's ``short_name`` (under its home-screen icon,
    at most ``APP_SHORT_NAME_MAX`` characters) and its ``theme_color`` and
    ``background_color`` (``#rrggbb``, stored in lower case)."""
    where = "[app]"
    table = data.get("app", {})
    if not isinstance(table, dict):
        check.add("the file", '"app" must be a table ([app])')
        return {}
    check.keys(where, table, _APP_KEYS)
    app: dict[str, str] = {}
    short_name = check.text(where, table, "short_name")
    if len(short_name) > APP_SHORT_NAME_MAX:
        check.add(
            where,
            f'short_name "{short_name}" is {len(short_name)} characters: a phone shows at most '
            f'{APP_SHORT_NAME_MAX} under its icon (like "Springfield")',
        )
    elif short_name:
        app["short_name"] = short_name
    for key in ("theme_color", "background_color"):
        colour = check.text(where, table, key)
        if colour and not _COLOUR_RE.match(colour):
            check.add(where, f'{key} "{colour}" is not a colour written like "#1a4480"')
        elif colour:
            app[key] = colour.lower()
    return app


def _performance(data: dict[str, Any], check: Checker) -> dict[str, Any]:
    """The ``[performance]`` table: ``shame_wall``, the public name of the wall of the
    lowest-ranked departments (with ``[performance.translations.<locale>]``), and
    ``public_shame_wall`` (false: only staff see that wall)."""
    where = "[performance]"
    table = data.get("performance", {})
    if not isinstance(table, dict):
        check.add("the file", '"performance" must be a table ([performance])')
        return {}
    check.keys(where, table, _PERFORMANCE_KEYS)
    performance: dict[str, Any] = {}
    public = table.get("public_shame_wall", True)
    if not isinstance(public, bool):
        check.add(where, f"public_shame_wall must be true or false, not {public!r}")
    elif not public:
        performance["public_shame_wall"] = False
    name = check.text(where, table, "shame_wall", max_len=60)
    if name:
        performance["shame_wall"] = name
    translations = check.translations(where, table, {"shame_wall"})
    if translations:
        performance["translations"] = translations
    return performance


def _mail(data: dict[str, Any], check: Checker) -> dict[str, str]:
    """The ``[mail]`` table, checked and in lower case: ``domain`` (reply addresses and
    Message-IDs), ``intake`` (the address residents write new requests to) and
    ``intake_category`` (the catalogue's category a new email is filed under, for its
    department to triage; checked against catalogue.toml by the folder)."""
    where = "[mail]"
    table = data.get("mail", {})
    if not isinstance(table, dict):
        check.add("the file", '"mail" must be a table ([mail])')
        return {}
    check.keys(where, table, _MAIL_KEYS)
    domain = check.text(where, table, "domain", max_len=200).lower()
    intake = check.text(where, table, "intake", max_len=254)
    intake_category = check.text(where, table, "intake_category", max_len=40)
    if domain and mail_problem(f"postmaster@{domain}"):
        check.add(where, f'domain "{domain}" is not a mail domain (like "mail.springfield.gov")')
        domain = ""
    if intake:
        problem = mail_problem(intake)
        if problem:
            check.add(where, f'intake "{intake}" is not an email address ({problem})')
            intake = ""
        elif intake.lower().startswith(LOCAL_PREFIX):
            check.add(
                where,
                f'intake "{intake}" starts with "{LOCAL_PREFIX}", which is kept for reply '
                'addresses (use an address like "311@mail.springfield.gov")',
            )
            intake = ""
        else:
            local, _, host = intake.rpartition("@")
            intake = f"{local}@{host.lower()}"
    pairs = (("domain", domain), ("intake", intake), ("intake_category", intake_category))
    return {key: value for key, value in pairs if value}


def mail_problem(address: str) -> str | None:
    """Why ``address`` is not an email address the portal can use, or None (no DNS look-up)."""
    try:
        validate_email(address, check_deliverability=False)
    except EmailNotValidError as exc:
        reason = str(exc).rstrip(".")
        return f"{reason[:1].lower()}{reason[1:]}"
    return None


def _languages(
    data: dict[str, Any], translations: dict[str, Any], check: Checker
) -> dict[str, Any]:
    where = "the file"
    languages = data.get("languages", ["en"])
    if (
        not isinstance(languages, list)
        or not languages
        or not all(isinstance(code, str) for code in languages)
    ):
        check.add(where, '"languages" must be a list of language codes, like ["en", "es"]')
        languages = ["en"]
    for code in languages:
        if code not in KNOWN_LANGUAGES:
            check.add(
                where,
                f'language "{code}" has no translation in the portal (available: '
                f"{', '.join(KNOWN_LANGUAGES)})" + suggestion(code, KNOWN_LANGUAGES),
            )
    if len(set(languages)) != len(languages):
        check.add(where, '"languages" lists a language twice')
    chosen = [c for c in KNOWN_LANGUAGES if c in languages] or ["en"]
    default = data.get("default_language", chosen[0])
    if default not in languages:
        check.add(where, f'default_language "{default}" is not one of "languages"')
        default = chosen[0]
    for locale in translations:
        if locale not in languages:
            check.add(where, f'translations.{locale}: "{locale}" is not one of "languages"')
    return {"languages": chosen, "default_language": default}


def _toml(path: Path, check: Checker) -> dict[str, Any] | None:
    if not path.is_file():
        check.add("the file", "is missing (every city folder needs one)")
        return None
    data, problem = toml_file(path)
    if problem:
        check.add("the file", problem)
    return data


def _logo(folder: Path, name: Any, check: Checker) -> dict[str, Any]:
    """The logo's bytes, file name and media type (none when ``logo`` is not set)."""
    empty = {"logo": None, "logo_filename": "", "logo_type": ""}
    if name is None:
        return empty
    if (
        not isinstance(name, str)
        or not name
        or "/" in name
        or "\\" in name
        or name.startswith(".")
        or len(name) > 120
    ):
        check.add(
            "the file",
            f"logo {name!r} must be the name of a file in the same folder (up to 120 characters)",
        )
        return empty
    try:
        data = (folder / name).read_bytes()
    except OSError as exc:
        check.add("the file", f'logo "{name}" cannot be read: {exc.strerror or exc}')
        return empty
    if len(data) > LOGO_MAX_BYTES:
        check.add("the file", f'logo "{name}" is larger than {LOGO_MAX_BYTES // 1024} KB')
        return empty
    kind = logo_type(data)
    if kind is None:
        check.add(
            "the file",
            f'logo "{name}" is not a PNG, JPEG or SVG image (an SVG may not hold scripts)',
        )
        return empty
    return {"logo": data, "logo_filename": name, "logo_type": kind}


def logo_type(data: bytes) -> str | None:
    """The media type of a logo by its content, or ``None`` when it is not an acceptable one."""
    head = data.lstrip()[:5]
    if head.startswith(b"<?xml") or head.startswith(b"<svg"):
        try:
            root = ElementTree.fromstring(data)
        except ElementTree.ParseError:
            return None
        if not root.tag.endswith("svg"):
            return None
        for element in root.iter():
            tag = str(element.tag).rsplit("}", 1)[-1].lower()
            if tag in ("script", "foreignobject") or any(
                key.lower().startswith("on") for key in element.attrib
            ):
                return None
        return "image/svg+xml"
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
            return LOGO_TYPES.get(image.format or "")
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        return None


def _plain(data: dict[str, Any]) -> dict[str, Any]:
    """What the file said, for the back office to show (everything is plain TOML data)."""
    return {key: value for key, value in data.items() if key != "translations"} | (
        {"translations": data["translations"]} if "translations" in data else {}
    )
