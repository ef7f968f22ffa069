"""City configuration and staff import figures for a big city, through the real commands.

Generates (deterministically, in a temporary folder) a city folder of 40 departments (English
and Spanish names, each on one of 5 calendars, some with breach actions and an assignment
mode), 12 service groups, 300 categories with 0-4 questions each (all six kinds, options with
Spanish labels, a few stop values), 100 areas (a 10 x 10 grid of edge-sharing squares; some
have a lake as a hole, some an enclave that belongs to a neighbour as the second part of its
MultiPolygon), 5 business calendars with closures, 60 SLA policies, 50 routing rules and 80
response templates, and a 2,000-row staff CSV (agents and supervisors in 1-3 departments, a
few coordinators and admins). Then, on SQLite (a temporary file) and on PostgreSQL (a scratch
database, created and dropped; skipped, saying why, when the server cannot be reached), after
migrating, times each command through the app's CLI runner (everything the command does,
from reading the files to the commit):

- ``flask city import FOLDER --dry-run`` (the checks, and the writes rolled back);
- ``flask city import FOLDER``, first time and again (nothing changes);
- ``flask city export OTHER``, then a dry-run import of OTHER (must change nothing);
- ``flask staff import staff.csv``: 2,000 new members, each with an invitation queued in the
  outbox, then again (nothing changes).

Prints per step and engine the wall-clock seconds, the CPU seconds of this process (on
PostgreSQL the rest is mostly round trips to the server) and the SQL statements sent, then the
row counts, the process's peak memory (ru_maxrss) after each step, and whether the queued
invitations name the imported city (its short name and base URL).

    .venv/bin/python benchmarks/city_import.py [--postgres SERVER_URL] [--skip-postgres]
        [--staff 2000] [--profile STEP]

--profile runs cProfile around one step ("city import", "staff import", ...) on each engine
and prints the 25 most expensive functions. Prints figures; changes nothing else.
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import io
import json
import os
import pstats
import random
import resource
import sys
import tempfile
import time
import unicodedata
import uuid
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import tomli_w
from sqlalchemy import create_engine, event, func, select, text
from sqlalchemy.exc import OperationalError

from portal import create_app
from portal.core.config import Settings
from portal.core.outbox import OutboxMessage
from portal.migrate import upgrade

POSTGRES = os.environ.get("PORTAL_BENCH_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432")
SEED = 311

# --- the generated city ---------------------------------------------------------------------

DEPARTMENTS = [
    ("streets", "Public Works – Streets", "Obras Públicas – Calles"),
    ("transportation", "Transportation", "Transporte"),
    ("sanitation", "Sanitation", "Sanidad"),
    ("parks", "Parks & Recreation", "Parques y Recreación"),
    ("water", "Water Utility", "Servicio de Agua"),
    ("code-enforcement", "Code Enforcement", "Cumplimiento de Códigos"),
    ("police-nonemergency", "Police Non-Emergency", "Policía – Línea de No Emergencias"),
    ("fire-prevention", "Fire Prevention", "Prevención de Incendios"),
    ("animal-services", "Animal Services", "Servicios de Animales"),
    ("forestry", "Urban Forestry", "Silvicultura Urbana"),
    ("stormwater", "Stormwater", "Aguas Pluviales"),
    ("sewer", "Sewer Operations", "Operaciones de Alcantarillado"),
    ("traffic-signals", "Traffic Signals", "Semáforos"),
    ("street-lighting", "Street Lighting", "Alumbrado Público"),
    ("parking", "Parking Services", "Servicios de Estacionamiento"),
    ("housing", "Housing", "Vivienda"),
    ("building-permits", "Building & Permits", "Edificación y Permisos"),
    ("health", "Public Health", "Salud Pública"),
    ("environment", "Environmental Services", "Servicios Ambientales"),
    ("libraries", "Libraries", "Bibliotecas"),
    ("recycling", "Recycling", "Reciclaje"),
    ("graffiti", "Graffiti Removal", "Eliminación de Grafitis"),
    ("snow", "Snow & Ice Control", "Control de Nieve y Hielo"),
    ("transit", "Transit", "Transporte Público"),
    ("bridges", "Bridges & Structures", "Puentes y Estructuras"),
    ("sidewalks", "Sidewalks", "Aceras"),
    ("fleet", "Fleet Services", "Servicios de Flota"),
    ("facilities", "City Facilities", "Instalaciones Municipales"),
    ("cemeteries", "Cemeteries", "Cementerios"),
    ("senior-services", "Senior Services", "Servicios para Personas Mayores"),
    ("youth", "Youth Services", "Servicios para Jóvenes"),
    ("homeless-outreach", "Homeless Outreach", "Atención a Personas sin Hogar"),
    ("noise", "Noise Control", "Control de Ruido"),
    ("vector-control", "Vector Control", "Control de Plagas"),
    ("harbor", "Harbor & Waterfront", "Puerto y Litoral"),
    ("airport", "Airport Operations", "Operaciones del Aeropuerto"),
    ("elections", "Elections", "Elecciones"),
    ("finance", "Finance & Billing", "Finanzas y Facturación"),
    ("city-clerk", "City Clerk", "Secretaría Municipal"),
    ("communications", "Communications", "Comunicaciones"),
]
GROUPS = [
    ("streets", "Streets and sidewalks", "Calles y aceras"),
    ("transport", "Traffic and parking", "Tránsito y estacionamiento"),
    ("sanitation", "Trash and recycling", "Basura y reciclaje"),
    ("parks", "Parks and trees", "Parques y árboles"),
    ("water", "Water and drainage", "Agua y drenaje"),
    ("noise", "Noise", "Ruido"),
    ("housing", "Housing and buildings", "Vivienda y edificios"),
    ("safety", "Public safety", "Seguridad pública"),
    ("health", "Health and animals", "Salud y animales"),
    ("environment", "Environment", "Medio ambiente"),
    ("community", "Community services", "Servicios comunitarios"),
    ("city-services", "City Hall services", "Trámites municipales"),
]
#: (code, English, Spanish, group): 60 issues; with 5 places they make 300 categories.
ISSUES = [
    ("pothole", "Pothole", "Bache", "streets"),
    ("cracked-pavement", "Cracked pavement", "Pavimento agrietado", "streets"),
    ("sidewalk-damage", "Damaged sidewalk", "Acera dañada", "streets"),
    ("curb-ramp", "Missing curb ramp", "Falta rampa en la acera", "streets"),
    ("street-sweeping", "Street needs sweeping", "Calle sin barrer", "streets"),
    ("debris", "Debris in the street", "Escombros en la calle", "streets"),
    ("snow-plowing", "Street not plowed", "Calle sin despejar de nieve", "streets"),
    ("icy-sidewalk", "Icy sidewalk", "Acera con hielo", "streets"),
    ("bridge-damage", "Bridge damage", "Daño en un puente", "streets"),
    ("streetlight-out", "Streetlight out", "Farola apagada", "streets"),
    ("traffic-signal", "Traffic signal problem", "Problema con un semáforo", "transport"),
    ("stop-sign", "Missing stop sign", "Falta una señal de alto", "transport"),
    ("faded-markings", "Faded road markings", "Marcas viales borrosas", "transport"),
    ("abandoned-vehicle", "Abandoned vehicle", "Vehículo abandonado", "transport"),
    ("illegal-parking", "Illegal parking", "Estacionamiento ilegal", "transport"),
    ("parking-meter", "Broken parking meter", "Parquímetro roto", "transport"),
    ("bus-stop", "Bus stop problem", "Problema en una parada de autobús", "transport"),
    ("bike-lane", "Blocked bike lane", "Ciclovía obstruida", "transport"),
    ("missed-collection", "Missed trash collection", "Basura no recogida", "sanitation"),
    ("missed-recycling", "Missed recycling", "Reciclaje no recogido", "sanitation"),
    ("bulk-pickup", "Bulk item pickup", "Recogida de objetos voluminosos", "sanitation"),
    ("illegal-dumping", "Illegal dumping", "Vertido ilegal", "sanitation"),
    ("overflowing-bin", "Overflowing litter bin", "Papelera desbordada", "sanitation"),
    ("damaged-cart", "Damaged trash cart", "Contenedor dañado", "sanitation"),
    ("tree-down", "Fallen tree or branch", "Árbol o rama caída", "parks"),
    ("tree-trimming", "Tree needs trimming", "Árbol que necesita poda", "parks"),
    ("playground", "Playground repair", "Reparación de juegos infantiles", "parks"),
    ("park-lighting", "Park lighting out", "Luces del parque apagadas", "parks"),
    ("park-restroom", "Park restroom problem", "Problema en baños del parque", "parks"),
    ("overgrown-grass", "Overgrown grass", "Césped demasiado alto", "parks"),
    ("water-leak", "Water leak", "Fuga de agua", "water"),
    ("low-pressure", "Low water pressure", "Baja presión de agua", "water"),
    ("water-quality", "Water quality concern", "Calidad del agua", "water"),
    ("sewer-backup", "Sewer backup", "Alcantarillado atascado", "water"),
    ("blocked-drain", "Blocked storm drain", "Desagüe pluvial tapado", "water"),
    ("street-flooding", "Street flooding", "Calle inundada", "water"),
    ("noise-party", "Loud party", "Fiesta ruidosa", "noise"),
    ("noise-construction", "Construction noise", "Ruido de obras", "noise"),
    ("noise-business", "Noisy business", "Negocio ruidoso", "noise"),
    ("barking-dog", "Barking dog", "Perro que ladra", "noise"),
    ("housing-condition", "Unsafe housing conditions", "Vivienda en malas condiciones", "housing"),
    ("no-heat", "No heat in a rental", "Vivienda de alquiler sin calefacción", "housing"),
    ("vacant-building", "Vacant building", "Edificio abandonado", "housing"),
    ("unpermitted-work", "Work without a permit", "Obra sin permiso", "housing"),
    ("graffiti", "Graffiti", "Grafiti", "safety"),
    ("broken-hydrant", "Damaged fire hydrant", "Hidrante dañado", "safety"),
    ("blocked-exit", "Blocked fire exit", "Salida de emergencia bloqueada", "safety"),
    (
        "suspicious-vehicle",
        "Suspicious parked vehicle",
        "Vehículo sospechoso estacionado",
        "safety",
    ),
    ("stray-animal", "Stray animal", "Animal callejero", "health"),
    ("dead-animal", "Dead animal", "Animal muerto", "health"),
    ("rats", "Rats or rodents", "Ratas o roedores", "health"),
    ("mosquitoes", "Mosquitoes", "Mosquitos", "health"),
    ("restaurant-complaint", "Restaurant hygiene", "Higiene en un restaurante", "health"),
    ("air-quality", "Smoke or odour", "Humo u olores", "environment"),
    ("oil-spill", "Oil or chemical spill", "Derrame de aceite o químicos", "environment"),
    ("homeless-camp", "Encampment outreach", "Atención a un campamento", "community"),
    ("senior-help", "Help for an older neighbour", "Ayuda para una persona mayor", "community"),
    ("library-facility", "Library building problem", "Problema en una biblioteca", "community"),
    ("billing-question", "Utility bill question", "Consulta sobre una factura", "city-services"),
    (
        "records-request",
        "Public records request",
        "Solicitud de documentos públicos",
        "city-services",
    ),
]
#: (code suffix, English, Spanish): where the issue is.
PLACES = [
    ("", "", ""),
    ("main-road", " on a main road", " en una vía principal"),
    ("park", " in a park", " en un parque"),
    ("school", " near a school", " cerca de una escuela"),
    ("business", " in a business district", " en una zona comercial"),
]
#: Calendars: (code, name, hours, holidays, closures per year).
CALENDARS = [
    (
        "city-hours",
        "City Hall hours",
        {d: "08:00-12:00, 13:00-17:00" for d in ("mon", "tue", "wed", "thu", "fri")},
        True,
    ),
    (
        "public-works",
        "Public Works crews",
        {**{d: "07:00-15:30" for d in ("mon", "tue", "wed", "thu", "fri")}, "sat": "08:00-12:00"},
        True,
    ),
    ("24-7", "Around the clock (emergencies)", None, False),
    (
        "library-hours",
        "Library opening hours",
        {
            **{d: "10:00-20:00" for d in ("mon", "tue", "wed", "thu")},
            "fri": "10:00-18:00",
            "sat": "10:00-17:00",
            "sun": "13:00-17:00",
        },
        True,
    ),
    (
        "field-crews",
        "Field crews (two shifts)",
        {d: "06:00-14:00, 14:00-22:00" for d in ("mon", "tue", "wed", "thu", "fri", "sat")},
        True,
    ),
]
CLOSURE_NAMES = [
    ("Day after Thanksgiving", (11, 27)),
    ("Christmas Eve", (12, 24)),
    ("New Year's Eve", (12, 31)),
    ("City staff training day", (3, 13)),
    ("Fiesta de la Independencia", (9, 16)),
]
AREA_BASES = [
    "San Rafael",
    "Santa Fe",
    "El Prado",
    "Las Palmas",
    "Los Olivos",
    "Buenavista",
    "La Loma",
    "El Molino",
    "Riverside",
    "Northgate",
]
AREA_SUFFIXES = [
    "Norte",
    "Sur",
    "Este",
    "Oeste",
    "Centro",
    "Alto",
    "Bajo",
    "Viejo",
    "Nuevo",
    "Jardines",
]
FIRST_NAMES = [
    "María",
    "José",
    "Guadalupe",
    "Juan",
    "Ana",
    "Luis",
    "Carmen",
    "Carlos",
    "Rosa",
    "Jorge",
    "Lucía",
    "Miguel",
    "Sofía",
    "Alejandro",
    "Elena",
    "Javier",
    "Isabel",
    "Francisco",
    "Patricia",
    "Ramón",
    "Valeria",
    "Diego",
    "Beatriz",
    "Andrés",
    "Pat",
    "Kim",
    "Sam",
    "Lee",
    "Jordan",
    "Avery",
]
LAST_NAMES = [
    "García",
    "Martínez",
    "Rodríguez",
    "López",
    "Hernández",
    "González",
    "Pérez",
    "Sánchez",
    "Ramírez",
    "Torres",
    "Flores",
    "Rivera",
    "Gómez",
    "Díaz",
    "Cruz",
    "Morales",
    "Reyes",
    "Jiménez",
    "Ortiz",
    "Muñoz",
    "Núñez",
    "Peña",
    "Smith",
    "Johnson",
    "Nguyen",
    "O'Brien",
    "Kowalski",
    "Chen",
    "Okafor",
    "Brown",
]
KINDS = ("text", "number", "yesno", "single", "multi", "date")
OPTION_WORDS = [
    ("small", "Small", "Pequeño"),
    ("medium", "Medium", "Mediano"),
    ("large", "Large", "Grande"),
    ("day", "During the day", "Durante el día"),
    ("night", "At night", "De noche"),
    ("weekend", "On weekends", "Los fines de semana"),
    ("once", "It happened once", "Pasó una vez"),
    ("often", "It happens often", "Pasa a menudo"),
    ("home", "At a home", "En una vivienda"),
    ("street", "In the street", "En la calle"),
    ("shop", "At a business", "En un negocio"),
    ("other", "Something else", "Otra cosa"),
]
PLACEHOLDER_BODIES = [
    (
        "Hello {resident_name}, thank you for reporting this {category}. We will update "
        "{reference} when the work is done.",
        "Hola, {resident_name}: gracias por informar sobre este problema ({category}). "
        "Actualizaremos {reference} cuando terminemos el trabajo.",
    ),
    (
        "Hello {resident_name}, we could not find the problem reported in {reference}. Could you "
        "tell us the nearest address?",
        "Hola, {resident_name}: no encontramos el problema informado en {reference}. ¿Podría "
        "indicarnos la dirección más cercana?",
    ),
    (
        "Hello {resident_name}, {reference} has been passed to the right team.",
        "Hola, {resident_name}: hemos enviado {reference} al equipo que corresponde.",
    ),
]
LOGO = (
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64"><circle cx="32" cy="32" '
    b'r="30" fill="#005ea2"/></svg>\n'
)


def _ascii(value: str) -> str:
    return (
        "".join(
            c
            for c in unicodedata.normalize("NFKD", value)
            if c.isascii() and (c.isalnum() or c in " -")
        )
        .lower()
        .replace(" ", "-")
    )


def _question(rng: random.Random, number: int, kind: str) -> dict[str, Any]:
    question: dict[str, Any] = {
        "code": f"q{number}-{kind}",
        "kind": kind,
        "required": rng.random() < 0.4,
    }
    if kind == "text":
        question.update(
            prompt="Anything else the crew should know?",
            help="For example, a gate code or where to park.",
            translations={
                "es": {
                    "prompt": "¿Algo más que deba saber la cuadrilla?",
                    "help": "Por ejemplo, un código de acceso o dónde estacionar.",
                }
            },
        )
        if rng.random() < 0.5:
            question["max_length"] = rng.choice([200, 500, 1000])
    elif kind == "number":
        question.update(
            prompt="About how many are there?",
            translations={"es": {"prompt": "¿Cuántos hay, aproximadamente?"}},
        )
    elif kind == "date":
        question.update(
            prompt="When did you first notice it?",
            translations={"es": {"prompt": "¿Cuándo lo notó por primera vez?"}},
        )
    elif kind == "yesno":
        question.update(
            prompt="Is anyone in danger right now?",
            translations={"es": {"prompt": "¿Hay alguien en peligro ahora mismo?"}},
        )
        if rng.random() < 0.15:
            question.update(
                stop_values=["yes"],
                stop_message="Call 911 now. Do not use this form for an emergency.",
                translations={
                    "es": {
                        "prompt": "¿Hay alguien en peligro ahora mismo?",
                        "stop_message": "Llame al 911 ahora. No use este "
                        "formulario para una emergencia.",
                    }
                },
            )
    else:
        options = rng.sample(OPTION_WORDS, rng.randint(2, 5))
        question.update(
            prompt="Which of these describes it best?"
            if kind == "single"
            else "Which of these apply?",
            translations={
                "es": {
                    "prompt": "¿Cuál lo describe mejor?"
                    if kind == "single"
                    else "¿Cuáles corresponden?"
                }
            },
            options=[
                {"key": key, "label": en, "translations": {"es": {"label": es}}}
                for key, en, es in options
            ],
        )
        if rng.random() < 0.08:
            question.update(
                stop_values=[options[0][0]],
                stop_message="Please call the 24-hour line for this instead.",
            )
            question["translations"]["es"]["stop_message"] = (
                "Para esto, llame a la línea de 24 horas."
            )
    return question


def catalogue(rng: random.Random) -> dict[str, Any]:
    departments = []
    for index, (code, en, es) in enumerate(DEPARTMENTS):
        department: dict[str, Any] = {
            "code": code,
            "name": en,
            "email": f"{code}@lakeview.example",
            "translations": {"es": {"name": es}},
            "calendar": CALENDARS[index % len(CALENDARS)][0],
        }
        if index % 3 == 0:
            department["breach_actions"] = ["escalation_queue", "raise_priority"][: 1 + index % 2]
        if index % 4 == 1:
            department["assignment_mode"] = ("round_robin", "least_loaded")[index % 8 // 4]
        departments.append(department)
    groups = [
        {"code": code, "name": en, "translations": {"es": {"name": es}}} for code, en, es in GROUPS
    ]
    categories = []
    for place_code, place_en, place_es in PLACES:
        for number, (code, en, es, group) in enumerate(ISSUES):
            kinds = rng.sample(KINDS, rng.randint(0, 4))
            category: dict[str, Any] = {
                "code": f"{code}-{place_code}" if place_code else code,
                "group": group,
                "department": DEPARTMENTS[(number + len(categories)) % len(DEPARTMENTS)][0],
                "name": en + place_en,
                "description": f"Report: {en.lower()}{place_en}.",
                "keywords": [en.lower(), es.lower()],
                "translations": {
                    "es": {
                        "name": es + place_es,
                        "description": f"Informe: {es.lower()}{place_es}.",
                    }
                },
                "questions": [_question(rng, n, kind) for n, kind in enumerate(kinds, 1)],
            }
            if rng.random() < 0.05:
                category.update(
                    notice="Crews are busy after the storm; expect delays.", notice_level="warning"
                )
                category["translations"]["es"]["notice"] = (
                    "Las cuadrillas están ocupadas tras la tormenta; habrá demoras."
                )
            if code in ("housing-condition", "no-heat", "homeless-camp", "senior-help"):
                category["private"] = True
            categories.append(category)
    return {"departments": departments, "groups": groups, "categories": categories}


def areas() -> dict[str, Any]:
    """A 10 x 10 grid of squares sharing edges. Some hold a lake (a hole nobody covers); some
    hold an enclave (a hole that the next square owns as the second polygon of a
    MultiPolygon)."""
    lon0, lat0, step = -87.10, 40.90, 0.012

    def x(i: float) -> float:
        return round(lon0 + i * step, 6)

    def y(j: float) -> float:
        return round(lat0 + j * step, 6)

    def square(c0: float, r0: float, c1: float, r1: float) -> list[list[float]]:
        return [[x(c0), y(r0)], [x(c1), y(r0)], [x(c1), y(r1)], [x(c0), y(r1)], [x(c0), y(r0)]]

    polygons: dict[tuple[int, int], list[list[list[list[float]]]]] = {
        (r, c): [[square(c, r, c + 1, r + 1)]] for r in range(10) for c in range(10)
    }
    for r in range(10):
        for c in range(10):
            index = r * 10 + c
            if index % 7 == 3:  # an enclave, owned by the neighbour
                hole = square(c + 0.35, r + 0.35, c + 0.65, r + 0.65)
                polygons[(r, c)][0].append(hole[::-1])
                owner = (r, c + 1) if c < 9 else (r, c - 1)
                polygons[owner].append([hole])
            elif index % 11 == 5:  # a lake
                polygons[(r, c)][0].append(square(c + 0.2, r + 0.3, c + 0.6, r + 0.7)[::-1])
    features = []
    for (r, c), parts in sorted(polygons.items()):
        name = f"{AREA_BASES[r]} {AREA_SUFFIXES[c]}"
        geometry = (
            {"type": "Polygon", "coordinates": parts[0]}
            if len(parts) == 1
            else {"type": "MultiPolygon", "coordinates": parts}
        )
        features.append(
            {
                "type": "Feature",
                "properties": {
                    "code": _ascii(name),
                    "name": name,
                    "population": 2000 + (r * 37 + c * 53) % 9000,
                },
                "geometry": geometry,
            }
        )
    return {
        "type": "FeatureCollection",
        "name": "City of Lakeview areas (generated)",
        "features": features,
    }


def service_levels(
    rng: random.Random,
    categories: list[str],
    area_codes: list[str],
) -> dict[str, Any]:
    calendars = []
    for code, name, hours, holidays in CALENDARS:
        calendar: dict[str, Any] = {"code": code, "name": name, "timezone": "America/Chicago"}
        if hours is None:
            calendar["always_open"] = True
        else:
            calendar["hours"] = hours
        if holidays:
            calendar.update(holiday_country="US", holiday_subdivision="IL")
        if hours is not None:
            # In date order: the importer compares the listed closures with the stored ones
            # (kept in date order) as lists, so another order counts as a change every time.
            calendar["closures"] = sorted(
                (
                    {"day": date(year, month, day), "name": closure}
                    for year in (2025, 2026, 2027, 2028)
                    for closure, (month, day) in CLOSURE_NAMES
                    if rng.random() < 0.7
                ),
                key=lambda c: c["day"],
            )
        calendars.append(calendar)
    units = ["working hours", "working hours", "calendar days"]

    def targets() -> dict[str, str]:
        found = {
            "first_response": f"{rng.choice([1, 2, 4, 8, 16])} working hours",
            "resolution": f"{rng.randint(2, 30)} {rng.choice(units)}",
        }
        if rng.random() < 0.6:
            found["update"] = f"{rng.choice([4, 8, 16, 40])} working hours"
        return found

    policies: list[dict[str, Any]] = []
    for code in rng.sample(categories, 30):
        policies.append({"name": f"Category {code}", "category": code, **targets()})
    for code, _, _ in DEPARTMENTS[:16]:
        policy = {"name": f"Department {code}", "department": code, **targets()}
        if rng.random() < 0.3:
            policy["pause_statuses"] = ["waiting_on_resident"]
        policies.append(policy)
    for code in rng.sample(area_codes, 10):
        policies.append(
            {"name": f"Urgent in {code}", "area": code, "priority": "urgent", **targets()}
        )
    for priority in ("urgent", "high", "low"):
        policies.append(
            {"name": f"{priority.title()} priority cases", "priority": priority, **targets()}
        )
    policies.append(
        {
            "name": "City-wide default",
            "first_response": "8 working hours",
            "resolution": "80 working hours",
            "update": "40 working hours",
        }
    )
    return {"calendars": calendars, "policies": policies}


def routing(rng: random.Random, categories: list[str], area_codes: list[str]) -> dict[str, Any]:
    rules = []
    for n in range(50):
        rule: dict[str, Any] = {
            "name": f"Rule {n + 1:02d}",
            "department": rng.choice(DEPARTMENTS)[0],
        }
        shape = n % 5
        if shape in (0, 1):
            rule.update(category=rng.choice(categories), area=rng.choice(area_codes))
        elif shape == 2:
            rule.update(
                keywords=rng.sample(
                    [
                        "gas",
                        "smell",
                        "sinkhole",
                        "flood",
                        "needle",
                        "fuga",
                        "olor",
                        "inundación",
                        "wire",
                        "cable",
                    ],
                    3,
                )
            )
        elif shape == 3:
            rule.update(
                channel=rng.choice(["phone", "walk_in", "email"]), category=rng.choice(categories)
            )
        else:
            rule.update(area=rng.choice(area_codes))
        if n % 17 == 16:
            rule["active"] = False
        rules.append(rule)
    return {"rules": rules}


def templates(rng: random.Random) -> dict[str, Any]:
    found = []
    for n in range(80):
        body, body_es = PLACEHOLDER_BODIES[n % len(PLACEHOLDER_BODIES)]
        template: dict[str, Any] = {
            "code": f"template-{n + 1:02d}",
            "title": f"Reply {n + 1}: work update",
            "body": body,
            "translations": {"es": {"title": f"Respuesta {n + 1}: novedades", "body": body_es}},
        }
        if n >= 20:
            template["department"] = rng.choice(DEPARTMENTS)[0]
        found.append(template)
    return {"templates": found}


def city() -> dict[str, Any]:
    return {
        "name": "City of Lakeview",
        "short_name": "Lakeview 311",
        "contact": "Call 311 (or 555-0100 from outside the city), Monday to Friday 8 am to 5 pm.",
        "emergency_number": "911",
        "timezone": "America/Chicago",
        "languages": ["en", "es"],
        "default_language": "en",
        "base_url": "https://311.lakeview.example",
        "logo": "logo.svg",
        "translations": {
            "es": {
                "name": "Ciudad de Lakeview",
                "contact": "Llame al 311, de lunes a viernes de 8 a 17 h.",
            }
        },
        "open311": {
            "jurisdiction": "lakeview.example",
            "contact": "Lakeview 311 API team, open311@lakeview.example",
        },
    }


def staff_csv(rng: random.Random, rows: int) -> str:
    """``rows`` members: 10 admins, 20 coordinators, a seventh supervisors, the rest agents."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["email", "name", "role", "departments"])
    codes = [code for code, _, _ in DEPARTMENTS]
    for n in range(rows):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        name = f"{last}, {first}" if n % 50 == 7 else f"{first} {last}"  # quoted in the file
        email = f"{_ascii(first)}.{_ascii(last).replace('-', '')}{n}@lakeview.example"
        if n < 10:
            role, departments = "admin", ""
        elif n < 30:
            role = "coordinator"
            departments = rng.choice(codes) if n % 2 else ""
        else:
            role = "supervisor" if n % 7 == 0 else "agent"
            chosen = rng.sample(codes, rng.choice([1, 1, 1, 2, 2, 3]))
            if role == "supervisor":  # supervises the first, may help out in the others
                departments = ";".join([chosen[0]] + [f"{c}:agent" for c in chosen[1:]])
            else:
                departments = ";".join(f"{c}:agent" if rng.random() < 0.2 else c for c in chosen)
        writer.writerow([email, name, role, departments])
    return out.getvalue()


def write_city(folder: Path, staff_rows: int) -> Path:
    """Write the city folder into ``folder`` and the staff CSV beside it; return the CSV."""
    rng = random.Random(SEED)
    folder.mkdir(parents=True)
    data = catalogue(rng)
    geo = areas()
    category_codes = [c["code"] for c in data["categories"]]
    area_codes = [f["properties"]["code"] for f in geo["features"]]
    files = {
        "city.toml": city(),
        "catalogue.toml": data,
        "service-levels.toml": service_levels(rng, category_codes, area_codes),
        "routing.toml": routing(rng, category_codes, area_codes),
        "templates.toml": templates(rng),
    }
    for name, content in files.items():
        (folder / name).write_text(tomli_w.dumps(content), encoding="utf-8")
    (folder / "areas.geojson").write_text(
        json.dumps(geo, ensure_ascii=False, indent=1), encoding="utf-8"
    )
    (folder / "logo.svg").write_bytes(LOGO)
    staff = folder.parent / "staff.csv"
    staff.write_text(staff_csv(rng, staff_rows), encoding="utf-8")
    return staff


# --- running the commands -------------------------------------------------------------------

TABLES = [
    "departments",
    "service_groups",
    "service_categories",
    "category_questions",
    "areas",
    "business_calendars",
    "calendar_closures",
    "sla_policies",
    "routing_rules",
    "response_templates",
    "users",
    "staff_memberships",
    "outbox_messages",
    "audit_entries",
]


def peak_mb() -> float:
    """The process's peak resident memory so far (``ru_maxrss``: KB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024 if sys.platform == "darwin" else 1024)


def run_engine(url: str, work: Path, folder: Path, staff: Path, profile: str) -> dict[str, Any]:
    """Migrate ``url``, run every step; return {"steps": [(label, seconds, CPU seconds of this
    process, SQL statements sent, peak MB)],
    "counts": {table: rows}, "notes": [...]}."""
    started = time.perf_counter()
    upgrade(url)
    migrated = time.perf_counter() - started
    app = create_app(
        Settings(
            env="test",
            secret_key="b" * 40,
            database_url=url,
            upload_dir=str(work),
            mail_dir=str(work),
            ratelimit_enabled=False,
        )
    )
    db = app.extensions["portal.db"]
    print(f"engine: {db.dialect} (migrated in {migrated:.1f} s)", flush=True)
    runner = app.test_cli_runner()
    statements = [0]

    def count(*_: Any) -> None:
        statements[0] += 1

    event.listen(db.engine, "before_cursor_execute", count)
    export = work / f"export-{db.dialect}"
    steps: list[tuple[str, float, float, int, float]] = []
    notes: list[str] = []

    def step(label: str, args: list[str], expect: Callable[[str], bool]) -> str:
        profiler = cProfile.Profile() if profile and profile == label else None
        statements[0] = 0
        began, cpu = time.perf_counter(), time.process_time()
        if profiler:
            profiler.enable()
        result = runner.invoke(args=args)
        if profiler:
            profiler.disable()
        seconds, cpu = time.perf_counter() - began, time.process_time() - cpu
        output = result.output
        if (
            result.exit_code != 0
            or result.exception
            and not isinstance(result.exception, SystemExit)
        ):
            print(output[-5000:])
            raise SystemExit(f"{label} failed (exit code {result.exit_code}): {result.exception!r}")
        if not expect(output):
            print(output[-3000:])
            raise SystemExit(f"{label}: unexpected output")
        steps.append((label, seconds, cpu, statements[0], peak_mb()))
        print(
            f"  {label}: {seconds:.2f} s ({cpu:.2f} s CPU in this process, "
            f"{statements[0]:,} SQL statements)",
            flush=True,
        )
        if profiler:
            print(f"-- cProfile of {label} on {db.dialect}, by cumulative time:")
            pstats.Stats(profiler, stream=sys.stdout).sort_stats("cumulative").print_stats(25)
            print(f"-- cProfile of {label} on {db.dialect}, by own time:")
            pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(15)
        return output

    dry = step(
        "city import --dry-run",
        ["city", "import", str(folder), "--dry-run"],
        lambda out: "is valid. Importing it would change" in out,
    )
    first = step(
        "city import (first)",
        ["city", "import", str(folder)],
        lambda out: out.startswith("Imported "),
    )
    step(
        "city import (again)",
        ["city", "import", str(folder)],
        lambda out: "was already imported: nothing changed" in out,
    )
    step("city export", ["city", "export", str(export)], lambda out: out.startswith("Wrote "))
    step(
        "import of the export --dry-run",
        ["city", "import", str(export), "--dry-run"],
        lambda out: "already imported: importing it would change nothing" in out,
    )
    added = step(
        "staff import (first)", ["staff", "import", str(staff)], lambda out: "staff added" in out
    )
    step(
        "staff import (again)",
        ["staff", "import", str(staff)],
        lambda out: "0 staff added (0 invitations queued), 0 changed" in out,
    )
    if dry.split("\n", 1)[1] != first.split("\n", 1)[1]:
        notes.append("the dry run's summary differs from the first import's")
    notes.append("staff: " + added.strip().splitlines()[-1])
    with db.engine.connect() as conn:
        counts = {t: conn.scalar(text(f"SELECT count(*) FROM {t}")) for t in TABLES}
        invitation = conn.execute(
            select(OutboxMessage.subject, OutboxMessage.body_text)
            .order_by(OutboxMessage.id)
            .limit(1)
        ).one()
        kinds = dict(
            conn.execute(
                select(OutboxMessage.kind, func.count()).group_by(OutboxMessage.kind)
            ).all()
        )
    notes.append(f"outbox by kind: {kinds}; first invitation's subject: {invitation.subject!r}")
    profile_settings = app.extensions["portal.city"].settings()
    if (
        profile_settings.short_name not in invitation.subject
        or f"{profile_settings.base_url}/account/reset/" not in invitation.body_text
    ):
        link = next((line for line in invitation.body_text.splitlines() if "/reset/" in line), "?")
        notes.append(
            f"the invitations ignore the imported city profile (short name "
            f"{profile_settings.short_name!r}, base URL {profile_settings.base_url}):"
            f" the link is {link.split('/reset/')[0]}/reset/..."
        )
    db.dispose()
    return {"steps": steps, "counts": counts, "notes": notes}


def scratch_postgres(server: str) -> tuple[str | None, str, Callable[[], None]]:
    """(URL of a new empty database or None, why not, drop it)."""
    admin = create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    name = f"portal_bench_city_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        admin.dispose()
        return None, str(exc.orig).strip().splitlines()[0], lambda: None

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return f"{server}/{name}", "", drop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--postgres", default=POSTGRES, help="a PostgreSQL server URL without a database name"
    )
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--staff", type=int, default=2000)
    parser.add_argument(
        "--profile", default="", help='a step\'s label, e.g. "staff import (first)"'
    )
    args = parser.parse_args()
    scratch = tempfile.TemporaryDirectory()
    work = Path(scratch.name)
    folder = work / "lakeview"
    started = time.perf_counter()
    staff = write_city(folder, args.staff)
    sizes = ", ".join(
        f"{p.name} {p.stat().st_size / 1024:.0f} KB"
        for p in sorted(folder.iterdir())
        if p.suffix != ".svg"
    )
    print(
        f"generated {folder.name}/ in {time.perf_counter() - started:.2f} s: {sizes}; "
        f"staff.csv {staff.stat().st_size / 1024:.0f} KB ({args.staff:,} rows)"
    )

    results: dict[str, dict[str, Any]] = {}
    results["sqlite"] = run_engine(
        f"sqlite:///{work / 'bench.db'}", work, folder, staff, args.profile
    )
    if args.skip_postgres:
        print("postgresql: skipped (--skip-postgres)")
    else:
        url, why, drop = scratch_postgres(args.postgres)
        if url is None:
            print(f"postgresql: skipped, {args.postgres} cannot be reached: {why}")
        else:
            try:
                results["postgresql"] = run_engine(url, work, folder, staff, args.profile)
            finally:
                drop()

    engines = list(results)
    labels = [label for label, *_ in results["sqlite"]["steps"]]
    print()
    print(f"{'':<34}" + "".join(f"{e:>27}" for e in engines))
    print(f"{'step':<34}" + f"{'wall s':>9}{'CPU s':>8}{'SQL stmts':>10}" * len(engines))
    for n, label in enumerate(labels):
        print(
            f"{label:<34}"
            + "".join(
                f"{results[e]['steps'][n][1]:>9.2f}{results[e]['steps'][n][2]:>8.2f}"
                f"{results[e]['steps'][n][3]:>10,}"
                for e in engines
            )
        )
    print(
        f"{'peak memory after the steps (MB)':<34}"
        + "".join(f"{results[e]['steps'][-1][4]:>27.0f}" for e in engines)
    )
    print()
    print(f"{'rows':<34}" + "".join(f"{e:>27}" for e in engines))
    for table in TABLES:
        print(f"{table:<34}" + "".join(f"{results[e]['counts'][table]:>27,}" for e in engines))
    print()
    print("peak memory (ru_maxrss, whole process) after each step, MB:")
    for engine in engines:
        print(
            f"  {engine}: "
            + ", ".join(f"{label} {mb:.0f}" for label, *_, mb in results[engine]["steps"])
        )
    for engine in engines:
        for note in results[engine]["notes"]:
            print(f"{engine}: {note}")
    scratch.cleanup()


if __name__ == "__main__":
    main()
