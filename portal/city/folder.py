"""Read a city's configuration folder whole, and name every problem in it at once.

A folder holds (``docs/city-configuration.md`` describes each file):

    city.toml             the city's name, contact line, logo, time zone, languages
    catalogue.toml        departments, service groups, categories and their questions
    areas.geojson         the city's areas
    service-levels.toml   business calendars and SLA policies       (optional)
    routing.toml          routing rules                              (optional)
    templates.toml        response templates                         (optional)
    addresses.csv         address points, or addresses.geojson       (optional)
    streets.geojson       street centrelines                         (optional)
    assets.toml           asset layers, points in assets/<code>.geojson  (optional)
    articles/<slug>.toml  knowledge articles, a title and body per language (optional;
                          portal.assist.articles)

The address, street and asset files can hold millions of rows: ``read_folder`` only finds them
(and reads ``assets.toml``); their rows are read and checked while ``import_city`` loads them
(``portal.places``), and their problems are listed the same way, nothing written.

``read_folder`` checks each file, then what the files name in one another (a category's
department and group, a department's calendar, a policy's category, a rule's area, ...), and
raises ``CityConfigError`` listing every problem as ``file: place: fault``. It reads no
database: what the folder says is the city's whole configuration.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from portal.areas.loader import AreaError, read_areas
from portal.assist.articles import ArticleSpec, read_articles
from portal.catalogue.loader import (
    CatalogueError,
    Checker,
    read_catalogue,
    suggestion,
    toml_file,
)
from portal.city.city_file import read_city
from portal.city.rule_files import read_rules, read_templates
from portal.places import loader as places
from portal.sla.levels_file import ServiceLevelError, read_service_levels

CITY = "city.toml"
CATALOGUE = "catalogue.toml"
AREAS = "areas.geojson"
SERVICE_LEVELS = "service-levels.toml"
ROUTING = "routing.toml"
TEMPLATES = "templates.toml"
ARTICLES = "articles"
REQUIRED = (CITY, CATALOGUE, AREAS)


class CityConfigError(ValueError):
    """The folder is not a valid city configuration; ``problems`` are ``file: place: fault``."""

    def __init__(self, folder: str, problems: list[str]) -> None:
        self.folder = folder
        self.problems = problems
        super().__init__(
            f"{folder} is not a valid city configuration "
            f"({len(problems)} problem{'s' if len(problems) != 1 else ''}):\n" + "\n".join(problems)
        )


@dataclass
class CitySpec:
    """The folder's content as column values, checked."""

    folder: str
    city: dict[str, Any] = field(default_factory=dict)
    departments: list[dict[str, Any]] = field(default_factory=list)
    groups: list[dict[str, Any]] = field(default_factory=list)
    categories: list[dict[str, Any]] = field(default_factory=list)
    areas: list[dict[str, Any]] = field(default_factory=list)
    calendars: list[dict[str, Any]] = field(default_factory=list)
    policies: list[dict[str, Any]] = field(default_factory=list)
    rules: list[dict[str, Any]] = field(default_factory=list)
    templates: list[dict[str, Any]] = field(default_factory=list)
    #: The address file (CSV or GeoJSON) and the street file, read while importing.
    addresses: Path | None = None
    streets: Path | None = None
    asset_layers: list[dict[str, Any]] = field(default_factory=list)
    articles: list[ArticleSpec] = field(default_factory=list)


def read_folder(folder: str | Path, *, allowed_networks: Iterable[str] = ()) -> CitySpec:
    """Check every file of ``folder``; return its content or raise ``CityConfigError``.
    ``allowed_networks`` (the settings' ``outbound_allowed_networks``) are the private networks
    city.toml's outbound Open311 endpoints may be on (``portal.core.destinations``)."""
    path = Path(folder)
    if not path.is_dir():
        raise CityConfigError(str(folder), [f"{folder}: is not a folder"])
    spec = CitySpec(folder=str(path))
    problems: list[str] = []
    for name in REQUIRED:
        if not (path / name).is_file():
            problems.append(f"{name}: is missing (every city folder needs one)")

    def checked(name: str, read: Callable[[Checker], Any], default: Any) -> Any:
        check = Checker()
        result = read(check)
        problems.extend(f"{name}: {problem}" for problem in check.problems)
        return result if not check.problems else default

    spec.city = (
        checked(
            CITY,
            lambda check: read_city(path / CITY, check, allowed_networks=allowed_networks),
            {},
        )
        if (path / CITY).is_file()
        else {}
    )
    _read_data_files(path, spec, problems)
    for name, reader, key in (
        (ROUTING, read_rules, "rules"),
        (TEMPLATES, read_templates, "templates"),
    ):
        if (path / name).is_file():
            data = _toml(path / name, problems)
            if data is not None:
                setattr(spec, key, checked(name, partial(reader, data), []))
    _find_places(path, spec, problems)
    spec.articles, found = read_articles(path / ARTICLES, spec.city.get("languages") or ["en"])
    problems.extend(found)
    # A file with problems of its own gave nothing to refer to: what others name in it is
    # checked once it is fixed (rather than reported as missing now).
    broken = {problem.split(":", 1)[0] for problem in problems}
    problems.extend(_references(spec, broken))
    if problems:
        raise CityConfigError(str(folder), problems)
    return spec


def _read_data_files(path: Path, spec: CitySpec, problems: list[str]) -> None:
    """The catalogue, the areas and the service levels, each with its own reader."""
    if (path / CATALOGUE).is_file():
        catalogue = _wrapped(
            CATALOGUE, problems, CatalogueError, lambda: read_catalogue(path / CATALOGUE)
        )
        if catalogue:
            spec.departments = catalogue["departments"]
            spec.groups = catalogue["groups"]
            spec.categories = catalogue["categories"]
    if (path / AREAS).is_file():
        spec.areas = _wrapped(AREAS, problems, AreaError, lambda: read_areas(path / AREAS)) or []
    if (path / SERVICE_LEVELS).is_file():
        levels = _wrapped(
            SERVICE_LEVELS,
            problems,
            ServiceLevelError,
            lambda: read_service_levels(path / SERVICE_LEVELS),
        )
        if levels:
            spec.calendars, spec.policies = levels["calendars"], levels["policies"]


def _find_places(path: Path, spec: CitySpec, problems: list[str]) -> None:
    """The address and street files (read while importing) and the asset layers."""
    if (path / places.ADDRESSES_CSV).is_file() and (path / places.ADDRESSES_GEOJSON).is_file():
        problems.append(
            f"{places.ADDRESSES_GEOJSON}: {places.ADDRESSES_CSV} is there too: keep one of them"
        )
    spec.addresses = places.address_file(path)
    spec.streets = path / places.STREETS if (path / places.STREETS).is_file() else None
    if (path / places.ASSETS).is_file():
        data = _toml(path / places.ASSETS, problems)
        if data is not None:
            found = places.Problems(cap=1000)
            spec.asset_layers = places.read_asset_layers(data, path, found)
            problems.extend(found.listed())
    elif (path / places.ASSETS_DIR).is_dir():
        problems.append(f"{places.ASSETS_DIR}/: has no {places.ASSETS} listing its layers")


def _wrapped(
    name: str, problems: list[str], error: type[ValueError], read: Callable[[], Any]
) -> Any:
    """A file reader that raises ``error(source, problems)``: its problems, named by file."""
    try:
        return read()
    except error as exc:
        problems.extend(f"{name}: {problem}" for problem in getattr(exc, "problems", [str(exc)]))
        return None


def _toml(path: Path, problems: list[str]) -> dict[str, Any] | None:
    data, problem = toml_file(path)
    if problem:
        problems.append(f"{path.name}: {problem}")
    return data


#: The file each kind of thing is defined in.
DEFINED_IN = {
    "department": CATALOGUE,
    "group": CATALOGUE,
    "category": CATALOGUE,
    "area": AREAS,
    "calendar": SERVICE_LEVELS,
    "asset layer": places.ASSETS,
}


def _references(spec: CitySpec, broken: set[str]) -> list[str]:
    """What the files name in one another and is not there (``broken`` files are skipped as
    targets: their entries could not be read)."""
    codes = {
        "department": {d["code"] for d in spec.departments},
        "group": {g["code"] for g in spec.groups},
        "category": {c["code"] for c in spec.categories},
        "area": {a["code"] for a in spec.areas},
        "calendar": {c["code"] for c in spec.calendars},
        "asset layer": {layer["code"] for layer in spec.asset_layers},
    }
    problems: list[str] = []

    def need(file: str, where: str, kind: str, value: str | None, defined_in: str) -> None:
        if value and value not in codes[kind] and DEFINED_IN[kind] not in broken:
            problems.append(
                f'{file}: {where}: {kind} "{value}" does not exist'
                f"{_where_defined(kind, defined_in)}"
                f"{suggestion(value, sorted(codes[kind]))}"
            )

    for department in spec.departments:
        need(
            CATALOGUE,
            f'department "{department["code"]}"',
            "calendar",
            department["calendar"],
            SERVICE_LEVELS,
        )
    for category in spec.categories:
        where = f'category "{category["code"]}"'
        need(CATALOGUE, where, "department", category["department"], CATALOGUE)
        need(CATALOGUE, where, "group", category["group"], CATALOGUE)
        need(CATALOGUE, where, "asset layer", category["asset_layer"], places.ASSETS)
    for policy in spec.policies:
        for kind, defined_in in (
            ("category", CATALOGUE),
            ("department", CATALOGUE),
            ("area", AREAS),
        ):
            need(SERVICE_LEVELS, f'policy "{policy["name"]}"', kind, policy[kind], defined_in)
    for rule in spec.rules:
        for kind, defined_in in (
            ("category", CATALOGUE),
            ("department", CATALOGUE),
            ("area", AREAS),
        ):
            need(ROUTING, f'rule "{rule["name"]}"', kind, rule[kind], defined_in)
    for template in spec.templates:
        need(
            TEMPLATES,
            f'template "{template["code"]}"',
            "department",
            template["department"],
            CATALOGUE,
        )
    mail = (spec.city.get("settings") or {}).get("mail") or {}
    need(CITY, "[mail]: intake_category", "category", mail.get("intake_category"), CATALOGUE)
    open311 = (spec.city.get("settings") or {}).get("open311") or {}
    for index, outbound in enumerate(open311.get("outbound") or [], start=1):
        where = f"[[open311.outbound]] #{index}"
        need(CITY, where, "department", outbound.get("department"), CATALOGUE)
        for code in outbound.get("service_codes") or {}:
            need(CITY, f"{where}: service_codes", "category", code, CATALOGUE)
    problems.extend(_languages(spec))
    return problems


def _where_defined(kind: str, file: str) -> str:
    return f" in {file}" if kind in ("calendar", "area", "asset layer") else ""


def _languages(spec: CitySpec) -> Iterable[str]:
    """Translations in a language the city does not use are a mistake worth naming."""
    languages = set(spec.city.get("languages") or ["en"])
    for file, entries, key in (
        (CATALOGUE, spec.departments, "department"),
        (CATALOGUE, spec.groups, "group"),
        (CATALOGUE, spec.categories, "category"),
        (TEMPLATES, spec.templates, "template"),
    ):
        for entry in entries:
            for locale in entry.get("translations", {}):
                if spec.city and locale not in languages:
                    yield (
                        f'{file}: {key} "{entry["code"]}": translations.{locale}: '
                        f'"{locale}" is not one of the languages in {CITY}'
                    )
    for category in spec.categories:
        for question in category["questions"]:
            where = f'category "{category["code"]}", question "{question["code"]}"'
            locales = set(question.get("translations", {}))
            for option in question.get("options", []):
                locales |= set(option.get("translations", {}))
            for locale in sorted(locales - languages):
                if spec.city:
                    yield (
                        f'{CATALOGUE}: {where}: translations.{locale}: "{locale}" is not '
                        f"one of the languages in {CITY}"
                    )
