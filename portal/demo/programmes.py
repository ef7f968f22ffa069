"""Demo community programmes: what Riverton offers its residents, in English and Spanish.

- the **Citizens Engagement Academy**: eight weekly evening sessions (the first and the last
  mandatory), completed by attending six, 25 places, open to people who live or work in the
  city and are 18 or over; most places are taken;
- the **Neighborhood Liaison Program**: by application, 12 places, for one neighbourhood;
  a few applications wait for the coordinator;
- the **Home Emergency Preparedness Workshop**: a one-off Saturday workshop, one place left;
- the **Riverbank Clean-up Day**: full, one freed place offered to the head of a waitlist.

Rows are written directly, as a history (no emails are queued). Deterministic for a seed and
idempotent: nothing is added when the Academy already exists.
"""

from __future__ import annotations

import random
import unicodedata
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from portal.areas.models import Area
from portal.auth.models import User
from portal.core.config import Settings
from portal.programmes.models import (
    EligibilityQuestion,
    Enrolment,
    Programme,
    ProgrammeSession,
)
from portal.programmes.service import CODE_ALPHABET, CODE_LENGTH

ACADEMY = "Citizens Engagement Academy"
PARTICIPANT_DOMAIN = "example.net"
#: Demo participants (name, locale); the demo residents of the loader take part too.
PARTICIPANTS = [
    ("Ana Lucía Torres", "es"),
    ("Ben Whitfield", "en"),
    ("Chen Wei", "en"),
    ("Dolores Ramírez", "es"),
    ("Emeka Obi", "en"),
    ("Fatima Haddad", "en"),
    ("Gabriel Soto", "es"),
    ("Hannah Lindqvist", "en"),
    ("Isaac Mendel", "en"),
    ("Jasmine Brooks", "en"),
    ("Kenji Watanabe", "en"),
    ("Laura Peña", "es"),
    ("Mohammed Ali", "en"),
    ("Nora Fitzgerald", "en"),
    ("Óscar Jiménez", "es"),
    ("Patricia Nguyen", "en"),
    ("Quentin Blake", "en"),
    ("Rosa Delgado", "es"),
    ("Samuel Adeyemi", "en"),
    ("Teresa Núñez", "es"),
    ("Umar Farouk", "en"),
    ("Valeria Cruz", "es"),
    ("William Hart", "en"),
    ("Ximena Flores", "es"),
]

YES_NO = [
    {"key": "yes", "label": "Yes", "translations": {"es": {"label": "Sí"}}},
    {"key": "no", "label": "No", "translations": {"es": {"label": "No"}}},
]


def _question(
    code: str, prompt: str, prompt_es: str, message: str, message_es: str, position: int
) -> EligibilityQuestion:
    return EligibilityQuestion(
        code=code,
        kind="yesno",
        prompt=prompt,
        required=True,
        options=YES_NO,
        eligible_values=["yes"],
        ineligible_message=message,
        position=position,
        translations={"es": {"prompt": prompt_es, "ineligible_message": message_es}},
    )


def _sessions(
    programme: Programme,
    *,
    first: date,
    count: int,
    every: timedelta,
    start: time,
    hours: float,
    tz: ZoneInfo,
    titles: list[tuple[str, str]],
    place: str,
    mandatory: tuple[int, ...] = (),
    online: str = "",
) -> None:
    for number in range(count):
        day = first + every * number
        starts = datetime.combine(day, start, tzinfo=tz).astimezone(ZoneInfo("UTC"))
        title, title_es = titles[number] if number < len(titles) else ("", "")
        programme.sessions.append(
            ProgrammeSession(
                title=title,
                translations={"es": {"title": title_es}} if title_es else {},
                starts_at=starts,
                ends_at=starts + timedelta(hours=hours),
                place=place,
                online_url=online if number % 2 else "",
                mandatory=number in mandatory,
            )
        )
    programme.starts_on = first
    programme.ends_on = first + every * (count - 1)


def _code(rng: random.Random, used: set[str]) -> str:
    while True:
        code = "".join(rng.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        if code not in used:
            used.add(code)
            return code


def _participants(session: Session, password_hash: str, now: datetime) -> list[User]:
    users = []
    for name, locale in PARTICIPANTS:
        plain = name.lower().replace(" ", ".")
        email = (
            "".join(c for c in _ascii(plain) if c.isalnum() or c == ".") + f"@{PARTICIPANT_DOMAIN}"
        )
        user = session.scalar(select(User).where(User.email == email))
        if user is None:
            user = User(
                email=email,
                name=name,
                locale=locale,
                role="resident",
                password_hash=password_hash,
                created_at=now - timedelta(days=60),
                email_verified_at=now - timedelta(days=60),
            )
            session.add(user)
        users.append(user)
    session.flush()
    return users


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def _enrol(
    programme: Programme,
    user: User,
    *,
    state: str,
    at: datetime,
    rng: random.Random,
    used: set[str],
    **extra: Any,
) -> Enrolment:
    answers = {q.code: "yes" for q in programme.questions}
    enrolment = Enrolment(
        programme_id=programme.id,
        user_id=user.id,
        state=state,
        answers=answers,
        check_in_code=_code(rng, used),
        locale=user.locale or "en",
        queued_at=at,
        enrolled_at=at if state == "enrolled" else None,
        created_at=at,
        updated_at=at,
        **extra,
    )
    if state in ("enrolled", "offered"):
        programme.taken += 1
    elif state == "waitlisted":
        programme.waiting += 1
    return enrolment


def load_programmes(
    session: Session,
    settings: Settings,
    *,
    seed: int,
    now: datetime,
    password: str,
    residents: list[User] | None = None,
) -> int:
    """Add the demo programmes and their enrolments (flush, no commit); returns how many
    programmes were added (0 when they are there already)."""
    if session.scalar(select(Programme.id).where(Programme.title == ACADEMY)) is not None:
        return 0
    rng = random.Random(seed * 7 + 1)
    tz = ZoneInfo(settings.timezone)
    today = now.astimezone(tz).date()
    # The demo accounts share one password hash (hashing is slow on purpose).
    shared = residents[0].password_hash if residents else generate_password_hash(password)
    participants = _participants(session, shared, now)
    neighbourhood = session.scalar(select(Area).order_by(Area.code).limit(1))
    contact = f"programmes@{settings.city_name.split()[-1].lower()}.example"

    academy = Programme(
        title=ACADEMY,
        kind="academy",
        topic="civic",
        capacity=25,
        admission="first_come",
        status="open",
        summary="Eight evenings to learn how the city works and how to shape it.",
        description=(
            "Meet the people who run Riverton: the council, the budget office, "
            "public works, the police and the parks team. Each week a different "
            "department explains what it does and answers your questions. Attend six "
            "of the eight sessions, including the first and the last, to graduate."
        ),
        translations={
            "es": {
                "title": "Academia de Participación Ciudadana",
                "summary": "Ocho tardes para aprender cómo funciona la ciudad y cómo mejorarla.",
                "description": (
                    "Conozca a quienes dirigen Riverton: el concejo, la oficina de "
                    "presupuesto, obras públicas, la policía y el equipo de parques. "
                    "Cada semana un departamento explica su trabajo y responde a sus "
                    "preguntas. Asista a seis de las ocho sesiones, incluidas la "
                    "primera y la última, para graduarse."
                ),
            }
        },
        enrol_opens_at=now - timedelta(days=12),
        enrol_closes_at=None,
        completion_min_sessions=6,
        contact_email=contact,
        created_at=now - timedelta(days=14),
    )
    academy.questions = [
        _question(
            "lives_or_works",
            "Do you live or work in the city?",
            "¿Vive o trabaja en la ciudad?",
            "The Academy is for people who live or work in Riverton.",
            "La Academia es para quienes viven o trabajan en Riverton.",
            0,
        ),
        _question(
            "adult",
            "Are you 18 or over?",
            "¿Tiene 18 años o más?",
            "The Academy is for adults (18 or over). See our youth programmes.",
            "La Academia es para adultos (18 años o más). Vea nuestros programas juveniles.",
            1,
        ),
    ]
    first = today + timedelta(days=(1 - today.weekday()) % 7 + 7)  # a Tuesday, next week+
    academy.enrol_closes_at = datetime.combine(first, time(12), tzinfo=tz)
    _sessions(
        academy,
        first=first,
        count=8,
        every=timedelta(weeks=1),
        start=time(18, 30),
        hours=2,
        tz=tz,
        place="City Hall, Council Chambers, 200 Main Street",
        mandatory=(0, 7),
        online="https://meet.riverton.example/academy",
        titles=[
            ("Welcome: how Riverton governs itself", "Bienvenida: cómo se gobierna Riverton"),
            ("The city budget", "El presupuesto municipal"),
            ("Public works and streets", "Obras públicas y calles"),
            ("Public safety", "Seguridad pública"),
            ("Parks and the environment", "Parques y medio ambiente"),
            ("Planning and housing", "Urbanismo y vivienda"),
            ("Reporting problems: 311", "Cómo reportar problemas: 311"),
            ("Graduation and your project", "Graduación y su proyecto"),
        ],
    )

    liaison = Programme(
        title="Neighborhood Liaison Program",
        kind="liaison",
        topic="civic",
        capacity=12,
        admission="application",
        status="open",
        area_id=neighbourhood.id if neighbourhood else None,
        summary="Be the link between your neighbours and City Hall for a year.",
        description=(
            "Liaisons meet once a month with city staff, bring their neighbours' "
            "concerns and carry news back to the block. Tell us why you would like "
            "to take part: the coordinator reviews every application when the "
            "window closes."
        ),
        translations={
            "es": {
                "title": "Programa de Enlace Vecinal",
                "summary": "Sea el vínculo entre sus vecinos y el Ayuntamiento durante un año.",
                "description": (
                    "Los enlaces se reúnen una vez al mes con personal municipal, "
                    "transmiten las inquietudes de sus vecinos y llevan noticias de "
                    "vuelta al barrio. La coordinación revisa cada solicitud al cerrar "
                    "el plazo."
                ),
            }
        },
        enrol_opens_at=now - timedelta(days=5),
        enrol_closes_at=now + timedelta(days=16),
        contact_email=contact,
        created_at=now - timedelta(days=6),
    )
    liaison.questions = [
        _question(
            "lives_here",
            "Do you live in this neighbourhood?",
            "¿Vive en este barrio?",
            "Liaisons live in the neighbourhood they represent.",
            "Los enlaces viven en el barrio que representan.",
            0,
        )
    ]
    _sessions(
        liaison,
        first=today + timedelta(days=24),
        count=4,
        every=timedelta(weeks=4),
        start=time(19),
        hours=1.5,
        tz=tz,
        place="Eastside Community Center, Room B",
        titles=[("Orientation", "Orientación")],
    )

    workshop = Programme(
        title="Home Emergency Preparedness Workshop",
        kind="workshop",
        topic="safety",
        capacity=15,
        admission="first_come",
        status="open",
        summary="Make a plan and a kit for floods, storms and power cuts in one morning.",
        description="Firefighters show how to prepare your home and your family. Kits to take "
        "home are included.",
        translations={
            "es": {
                "title": "Taller de Preparación para Emergencias en el Hogar",
                "summary": "Prepare un plan y un kit para inundaciones, tormentas y apagones.",
                "description": "Los bomberos enseñan cómo preparar su hogar y su familia. Incluye "
                "un kit para llevar a casa.",
            }
        },
        enrol_opens_at=now - timedelta(days=20),
        enrol_closes_at=now + timedelta(days=4),
        contact_email=contact,
        created_at=now - timedelta(days=21),
    )
    saturday = today + timedelta(days=(5 - today.weekday()) % 7 + 7)
    _sessions(
        workshop,
        first=saturday,
        count=1,
        every=timedelta(days=1),
        start=time(9, 30),
        hours=3,
        tz=tz,
        place="Fire Station 3, 45 Harbor Road",
        titles=[],
    )

    cleanup = Programme(
        title="Riverbank Clean-up Day",
        kind="event",
        topic="environment",
        capacity=8,
        admission="first_come",
        status="open",
        offer_hours=48,
        summary="Help clear the riverbank trail: gloves, tools and lunch provided.",
        translations={
            "es": {
                "title": "Jornada de Limpieza de la Ribera",
                "summary": "Ayude a limpiar el sendero: guantes, herramientas y "
                "almuerzo incluidos.",
            }
        },
        enrol_opens_at=now - timedelta(days=10),
        enrol_closes_at=now + timedelta(days=8),
        contact_email=contact,
        created_at=now - timedelta(days=11),
    )
    _sessions(
        cleanup,
        first=saturday + timedelta(days=7),
        count=1,
        every=timedelta(days=1),
        start=time(10),
        hours=4,
        tz=tz,
        place="Riverside Park, north entrance",
        titles=[],
    )

    programmes = [academy, liaison, workshop, cleanup]
    session.add_all(programmes)
    session.flush()

    used: dict[int, set[str]] = {p.id: set() for p in programmes}
    order = list(participants)
    rng.shuffle(order)
    enrolments: list[Enrolment] = []

    def add(
        programme: Programme, users: list[User], state: str, start: datetime, **extra: Any
    ) -> None:
        for number, user in enumerate(users):
            at = start + timedelta(hours=7 * number + rng.randint(0, 5))
            enrolments.append(
                _enrol(
                    programme, user, state=state, at=at, rng=rng, used=used[programme.id], **extra
                )
            )

    # The Academy: 19 of 25 places taken (the demo residents among them).
    add(academy, [*(residents or [])[:2], *order[:17]], "enrolled", now - timedelta(days=11))
    # The Liaison programme: four applications waiting, one approved.
    add(liaison, order[17:21], "applied", now - timedelta(days=4))
    add(liaison, order[21:22], "enrolled", now - timedelta(days=3), decided_by_id=None)
    # The workshop: 14 of 15.
    add(workshop, order[3:17], "enrolled", now - timedelta(days=18))
    # The clean-up: full, with one freed place offered to the head of the waitlist.
    add(cleanup, order[:7], "enrolled", now - timedelta(days=9))
    add(
        cleanup,
        order[7:8],
        "offered",
        now - timedelta(days=6),
        offered_at=now - timedelta(hours=20),
        offer_expires_at=now + timedelta(hours=28),
    )
    add(cleanup, order[8:11], "waitlisted", now - timedelta(days=5))
    session.add_all(enrolments)
    session.flush()
    return len(programmes)


__all__ = ["load_programmes"]
