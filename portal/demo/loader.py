"""The fictional City of Riverton: its configuration folder, staff, residents and requests.

``load_demo`` is deterministic for a seed and idempotent. The city's configuration is the
folder ``portal/demo/city/``, imported like any city's (``flask city import``) on the run that
finds no city configured; later runs leave it alone, so what admins change in the back office
survives ``make run``. Users are created only when their email is missing, and the requests are
generated only on the run that creates the demo admin (the marker), so a second run adds
nothing. Those filed through the Open311 API are the demo app's (its key, ``APP_KEY_LABEL``), and
whatever the size (from two requests) one of them is open and another's survey is still open,
so an app, and every example of the developer page, has something to act on. It flushes; the
caller commits once.
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload
from werkzeug.security import generate_password_hash

from portal.areas.models import Area
from portal.assist import categories
from portal.auth.models import User
from portal.catalogue.models import Department, ServiceCategory
from portal.city.folder import read_folder
from portal.city.importer import ImportSummary, import_city
from portal.city.models import PROFILE_ID, CityProfile
from portal.core import clock
from portal.core.config import Settings
from portal.demo.plans import Place, Plan, Planner
from portal.demo.programmes import load_programmes
from portal.demo.replay import settle
from portal.demo.surveys import load_surveys
from portal.demo.timeline import Crew, TimelineWriter, add_supports
from portal.open311 import keys
from portal.open311.models import ApiKey
from portal.places.models import AddressPoint
from portal.requests.access import new_token
from portal.requests.models import Event, ServiceRequest
from portal.sla.models import BusinessCalendar, SlaPolicy
from portal.sla.service import department_calendar
from portal.staff.models import StaffMembership

#: The demo city's configuration folder (the format of docs/city-configuration.md).
CITY_DIR = Path(__file__).resolve().parent / "city"
#: The documented password of every demo account (``PORTAL_DEMO_PASSWORD`` overrides it).
DEMO_PASSWORD = "riverton-demo-2026"
ADMIN_EMAIL = "admin@riverton.example"
DEFAULT_SIZE = 350
STAFF_DOMAIN = "riverton.example"
#: The app that filed the demo's requests made through the Open311 API, and its developer.
APP_KEY_LABEL = "FixIt app (demo)"
APP_KEY_EMAIL = "dev@fixit.example"

#: Names for each department's supervisor and agent, in department-code order.
STAFF_NAMES = [
    ("Grace Holloway", "Marcus Reed"),
    ("Denise Park", "Luis Ortega"),
    ("Raymond Cho", "Tasha Green"),
    ("Helen Brooks", "Samuel Ortiz"),
    ("Victor Nash", "Imani Carter"),
    ("Olivia Grant", "Peter Novak"),
    ("Sandra Kim", "Andre Lewis"),
    ("Frank Duarte", "Nina Patel"),
]
#: Demo residents who file with an account: (email, name, phone, locale).
RESIDENTS = [
    ("maria.gonzalez@example.net", "María González", "(555) 0142-3381", "es"),
    ("james.carter@example.net", "James Carter", "(555) 0177-2040", "en"),
    ("priya.natarajan@example.net", "Priya Natarajan", "", "en"),
]


@dataclass(frozen=True)
class DemoLogin:
    email: str
    name: str
    role: str
    department: str


@dataclass
class DemoSummary:
    #: What importing the demo city's folder did (``None``: a city was configured already).
    city: ImportSummary | None
    password: str
    logins: list[DemoLogin] = field(default_factory=list)
    users_added: int = 0
    requests_added: int = 0
    events_added: int = 0
    supports_added: int = 0
    #: Survey responses of residents whose resolved cases were surveyed.
    surveys_added: int = 0
    #: Community programmes (with their enrolments).
    programmes_added: int = 0
    #: The demo requests were there before this run (so none were generated).
    already_loaded: bool = False
    #: The category suggestion model trained from the demo's confirmed requests (issue 22):
    #: "v1 on 250 request(s)", or None (switched off, one there already, too few requests).
    category_model: str | None = None

    @property
    def added_anything(self) -> bool:
        return bool(
            (self.city is not None and self.city.changed_anything)
            or self.users_added
            or self.requests_added
            or self.surveys_added
            or self.programmes_added
        )


def load_demo(
    session: Session,
    settings: Settings,
    *,
    seed: int = 2026,
    size: int = DEFAULT_SIZE,
    password: str = DEMO_PASSWORD,
) -> DemoSummary:
    """Load the demo city (flush, no commit). Raises ``CityConfigError`` if the shipped
    configuration folder is broken."""
    now = clock.now()
    city = None
    if session.get(CityProfile, PROFILE_ID) is None:
        folder = read_folder(CITY_DIR, allowed_networks=settings.outbound_allowed_networks)
        city = import_city(session, folder, now=now)
    already = session.scalar(select(User.id).where(User.email == ADMIN_EMAIL)) is not None
    departments = list(session.scalars(select(Department).order_by(Department.code)))
    joined = now - timedelta(days=150)
    crews, residents, logins, added = _ensure_users(session, departments, password, joined=joined)
    summary = DemoSummary(
        city=city, password=password, logins=logins, users_added=added, already_loaded=already
    )
    if already or size <= 0:
        # A demo loaded before surveys existed gets its answers once.
        summary.surveys_added = load_surveys(session, settings, seed=seed, now=now)
        summary.programmes_added = load_programmes(
            session, settings, seed=seed, now=now, password=password, residents=residents
        )
        summary.category_model = train_categories(session, settings, now=now)
        return summary
    rng = random.Random(seed)
    categories = list(
        session.scalars(
            select(ServiceCategory)
            .where(ServiceCategory.active.is_(True))
            .options(selectinload(ServiceCategory.questions))
        )
    )
    area_rows = list(session.scalars(select(Area)))
    planner = Planner(rng, now, categories, area_rows, residents, _places(session))
    plans = planner.plans(size)
    # The survey goes out survey_delay_hours after the resolution and expires
    # survey_expiry_days later: the one apps may answer is sent by an hour ago, still open.
    delay = timedelta(hours=settings.survey_delay_hours)
    planner.for_apps(
        plans,
        survey_sent_by=now - delay - timedelta(hours=1),
        survey_open_after=now - delay - timedelta(days=settings.survey_expiry_days),
    )
    _insert(session, settings, plans, app_key=_app_key(session, plans, joined=joined))
    events_before = session.scalar(select(func.count()).select_from(Event)) or 0
    # The clocks look these up thousands of times: holding them keeps them in the session's
    # (weak) identity map, so each look-up is a dictionary hit rather than a query.
    policies = list(session.scalars(select(SlaPolicy)))
    held = [
        *session.scalars(select(BusinessCalendar).options(selectinload(BusinessCalendar.closures))),
        *policies,
    ]
    writer = TimelineWriter(
        session,
        rng,
        crews,
        pause_statuses=frozenset(
            status for policy in policies if policy.active for status in policy.pause_statuses
        ),
        hours={d.id: department_calendar(session, d.id) for d in departments},
    )
    try:
        for plan in plans:
            assert plan.request is not None
            writer.write(plan, plan.request, now)
    finally:
        clock.freeze(None)
    assert plans[0].request is not None  # the first written: the lowest id
    settle(session, first_request_id=plans[0].request.id, now=now)
    del held
    supports = sum(
        add_supports(session, rng, p.request, residents, now)
        for p in plans
        if p.request is not None
    )
    session.flush()
    summary.requests_added = len(plans)
    summary.events_added = (
        session.scalar(select(func.count()).select_from(Event)) or 0
    ) - events_before
    summary.supports_added = supports
    summary.surveys_added = load_surveys(session, settings, seed=seed, now=now)
    summary.programmes_added = load_programmes(
        session, settings, seed=seed, now=now, password=password, residents=residents
    )
    summary.category_model = train_categories(session, settings, now=now)
    return summary


def train_categories(session: Session, settings: Settings, *, now: datetime) -> str | None:
    """The demo city's category suggestion, trained from its requests staff confirmed, as the
    worker would (issue 22), so "Describe the problem" suggests from the first visit. Once:
    with a model already there (a second run, or the worker's), nothing is trained."""
    if not settings.assist_categories or categories.latest_model(session) is not None:
        return None
    row = categories.retrain(session, settings=settings, now=now)
    return None if row is None else f"v{row.version} on {row.examples} request(s)"


def _places(session: Session) -> dict[int, list[Place]]:
    """The city's active address points by area (the demo's ~20,000), oldest first."""
    places: dict[int, list[Place]] = {}
    for row in session.execute(
        select(
            AddressPoint.area_id,
            AddressPoint.id,
            AddressPoint.number,
            AddressPoint.street,
            AddressPoint.lat,
            AddressPoint.lon,
            AddressPoint.label,
        )
        .where(AddressPoint.active.is_(True), AddressPoint.area_id.is_not(None))
        .order_by(AddressPoint.id)
    ):
        places.setdefault(row[0] or 0, []).append(Place(*row[1:]))
    return places


def _ensure_users(
    session: Session, departments: list[Department], password: str, *, joined: datetime
) -> tuple[dict[int, Crew], list[User], list[DemoLogin], int]:
    """Create the demo accounts that are missing (one password hash for all of them)."""
    wanted: list[tuple[str, str, str, Department | None, str, str]] = [
        (ADMIN_EMAIL, "Alex Morgan", "admin", None, "", "en"),
        (f"programmes@{STAFF_DOMAIN}", "Dana Whitfield", "coordinator", None, "", "en"),
    ]
    for index, department in enumerate(departments):
        supervisor, agent = STAFF_NAMES[index % len(STAFF_NAMES)]
        wanted.append(
            (
                f"{department.code}.supervisor@{STAFF_DOMAIN}",
                supervisor,
                "supervisor",
                department,
                "",
                "en",
            )
        )
        wanted.append(
            (f"{department.code}.agent@{STAFF_DOMAIN}", agent, "agent", department, "", "en")
        )
    wanted += [
        (email, name, "resident", None, phone, locale) for email, name, phone, locale in RESIDENTS
    ]
    existing = {
        u.email: u
        for u in session.scalars(select(User).where(User.email.in_([w[0] for w in wanted])))
    }
    password_hash = ""
    added = 0
    for email, name, role, _department, phone, locale in wanted:
        if email in existing:
            continue
        password_hash = password_hash or generate_password_hash(password)
        existing[email] = User(
            email=email,
            name=name,
            role=role,
            phone=phone,
            locale=locale,
            password_hash=password_hash,
            created_at=joined,
            # Demo accounts' addresses are the city's own examples: confirmed, so they can file.
            email_verified_at=joined,
        )
        session.add(existing[email])
        added += 1
    session.flush()
    crews: dict[int, Crew] = {}
    for department in departments:
        crews[department.id] = Crew(
            department=department,
            agent=existing[f"{department.code}.agent@{STAFF_DOMAIN}"],
            supervisor=existing[f"{department.code}.supervisor@{STAFF_DOMAIN}"],
        )
    _ensure_memberships(session, crews)
    residents = [existing[r[0]] for r in RESIDENTS]
    logins = [
        DemoLogin(
            email=email,
            name=existing[email].name,
            role=existing[email].role,
            department=department.name if department else "",
        )
        for email, _name, _role, department, _phone, _locale in wanted
    ]
    return crews, residents, logins, added


def _ensure_memberships(session: Session, crews: dict[int, Crew]) -> None:
    """Each department's demo agent and supervisor work there (added when missing)."""
    wanted = {(crew.agent.id, department_id): "agent" for department_id, crew in crews.items()}
    wanted |= {
        (crew.supervisor.id, department_id): "supervisor" for department_id, crew in crews.items()
    }
    user_ids = {user_id for user_id, _department_id in wanted}
    present = {
        (row.user_id, row.department_id)
        for row in session.execute(
            select(StaffMembership.user_id, StaffMembership.department_id).where(
                StaffMembership.user_id.in_(user_ids)
            )
        )
    }
    for (user_id, department_id), role in wanted.items():
        if (user_id, department_id) not in present:
            session.add(StaffMembership(user_id=user_id, department_id=department_id, role=role))
    session.flush()


def _app_key(session: Session, plans: list[Plan], *, joined: datetime) -> ApiKey | None:
    """The key of the app that filed the demo's requests made through the API (None when
    there are none), with their count. Only its hash is kept, of a key nobody was shown."""
    by_app = [plan.created_at for plan in plans if plan.channel == "api"]
    if not by_app:
        return None
    raw = secrets.token_urlsafe(32)
    key = ApiKey(
        label=APP_KEY_LABEL,
        prefix=raw[: keys.PREFIX_LENGTH],
        key_hash=keys.hash_key(raw),
        rate_limit=keys.DEFAULT_RATE,
        read_rate_limit=keys.DEFAULT_READ_RATE,
        contact_email=APP_KEY_EMAIL,
        created_at=min(joined, min(by_app) - timedelta(days=1)),
        last_used_at=max(by_app),
        use_count=len(by_app),
        filed_count=len(by_app),
    )
    session.add(key)
    session.flush()
    return key


def _insert(
    session: Session, settings: Settings, plans: list[Plan], *, app_key: ApiKey | None
) -> None:
    """Write the requests as filed (status new), oldest first, and give them references;
    those filed through the API by ``app_key``."""
    for plan in plans:
        assert plan.category is not None and plan.area is not None
        reporter = plan.reporter
        user = reporter.user
        plan.request = ServiceRequest(
            category=plan.category,
            department_id=plan.category.department_id,
            description=plan.description,
            answers=plan.answers,
            address=plan.address,
            lat=plan.lat,
            lon=plan.lon,
            area_id=plan.area.id,
            address_point_id=plan.place_id,
            location_status="found" if plan.place_id is not None else "",
            channel=plan.channel,
            status="new",
            is_open=True,
            priority=plan.priority,
            reporter=user,
            contact_name=reporter.name,
            contact_email=reporter.email,
            contact_phone=reporter.phone,
            locale=reporter.locale,
            tracking_token_hash=None if user else new_token()[1],
            # Filed by an app: the token its POST answered with (GET tokens/{token}).
            api_token=secrets.token_urlsafe(24)[:32] if plan.channel == "api" else None,
            api_key_id=app_key.id if app_key is not None and plan.channel == "api" else None,
            private_by_reporter=plan.private_by_reporter,
            is_public=not (plan.private_by_reporter or plan.category.private),
            created_at=plan.created_at,
            updated_at=plan.created_at,
            status_changed_at=plan.created_at,
        )
        session.add(plan.request)
    session.flush()
    for plan in plans:
        assert plan.request is not None
        created = plan.request.created_at
        plan.request.reference = f"{settings.reference_prefix}-{created.year}-{plan.request.id:06d}"
    session.flush()
