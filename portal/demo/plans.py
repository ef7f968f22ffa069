"""Plan the demo requests: what, where, when, who reported it and how its story unfolds.

Everything is drawn from one ``random.Random`` so a seed gives the same city every time.
Nothing here touches the database; ``portal.demo.timeline`` writes the plans.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import shapely
from shapely.geometry import shape

from portal.areas.models import Area
from portal.auth.models import User
from portal.catalogue.models import CategoryQuestion, ServiceCategory
from portal.demo import filing_content
from portal.requests.models import OPEN_STATUSES, STATUSES, ServiceRequest

TZ = ZoneInfo("America/Chicago")
#: Residents' own words (portal/demo/resident_words.jsonl: the demo's categories said many ways,
#: with typos, slang, short messages and code-switching, in English and Spanish; the same texts
#: as benchmarks/data/assist-corpus.jsonl). This share of the demo's descriptions comes from
#: them, the rest from the tidy templates of filing_content: enough variety for the category
#: suggestion the demo trains when loaded (portal.demo.loader).
RESIDENT_WORDS = Path(__file__).parent / "resident_words.jsonl"
WORDING_SHARE = 0.6
DAY = timedelta(days=1)

#: Share of each final status among the demo requests (most old ones are closed).
STATUS_WEIGHTS = {
    "new": 30,
    "acknowledged": 28,
    "in_progress": 45,
    "waiting_on_resident": 15,
    "waiting_on_third_party": 12,
    "scheduled": 14,
    "resolved": 45,
    "closed": 140,
    "rejected": 20,
    "duplicate": 27,
}
#: How many days ago a request with that final status was filed (the story has to fit).
AGE_DAYS = {
    "new": (0.02, 4),
    "acknowledged": (0.5, 10),
    "in_progress": (1.5, 30),
    "waiting_on_resident": (2, 30),
    "waiting_on_third_party": (3, 40),
    "scheduled": (1, 20),
    "resolved": (2, 15),
    "closed": (24, 120),
    "rejected": (1, 120),
    "duplicate": (1, 120),
}
CHANNEL_WEIGHTS = {"web": 62, "mobile": 18, "phone": 12, "api": 4, "walk_in": 2, "email": 2}
#: When residents file (local hour -> weight).
FILING_HOURS = {
    h: w
    for h, w in zip(
        range(24),
        (1, 1, 1, 1, 1, 2, 4, 7, 9, 9, 8, 8, 8, 8, 8, 8, 8, 9, 9, 8, 7, 5, 3, 2),
        strict=True,
    )
}


@dataclass(frozen=True)
class Place:
    """An address point of the demo city (``address_points``): where a request is filed."""

    id: int
    number: str
    street: str
    lat: float
    lon: float
    label: str


@dataclass
class Reporter:
    user: User | None = None
    name: str = ""
    email: str = ""
    phone: str = ""
    locale: str = "en"


@dataclass
class Plan:
    status: str
    created_at: datetime
    category: ServiceCategory | None = None
    area: Area | None = None
    lat: float = 0.0
    lon: float = 0.0
    address: str = ""
    street: str = ""
    cross: str = ""
    number: int = 0
    #: The address point (``Place.id``) it is filed at; None without the city's addresses.
    place_id: int | None = None
    description: str = ""
    answers: dict[str, Any] = field(default_factory=dict)
    channel: str = "web"
    priority: str = "normal"
    reporter: Reporter = field(default_factory=Reporter)
    private_by_reporter: bool = False
    duplicate_of: Plan | None = None
    #: The row written for this plan (set by the loader).
    request: ServiceRequest | None = None
    #: The story after filing: actions such as "ack", "start", "resolve" (see timeline.py).
    script: list[str] = field(default_factory=list)
    #: The story is over by then (None: a few minutes before the load's "now").
    ends_by: datetime | None = None


@cache
def resident_words() -> dict[tuple[str, str], list[str]]:
    """{(category code, language): [texts]} from RESIDENT_WORDS."""
    words: dict[tuple[str, str], list[str]] = {}
    for line in RESIDENT_WORDS.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        words.setdefault((row["category"], row["language"]), []).append(row["text"])
    return words


class Planner:
    """Draws every demo request from ``rng`` for the given catalogue, areas and residents."""

    def __init__(
        self,
        rng: random.Random,
        now: datetime,
        categories: list[ServiceCategory],
        areas: list[Area],
        residents: list[User],
        places: dict[int, list[Place]] | None = None,
    ) -> None:
        self.rng = rng
        #: The city's address points by area id: requests are filed at one of them (a city
        #: folder without addresses gives random points and the area's street names).
        self.places = places or {}
        self.now = now
        self.categories = sorted(categories, key=lambda c: c.code)
        self.areas = sorted(areas, key=lambda a: a.code)
        self.residents = residents
        self.shapes = {a.id: shape(a.geometry) for a in self.areas}
        #: Residents' own ways of saying each problem (typos, slang, both languages), drawn
        #: from a stream of its own so the rest of the city is the same for the same seed.
        self.wording = random.Random(sum(rng.getstate()[1][1:8]))
        self.words = resident_words()
        for geometry in self.shapes.values():
            shapely.prepare(geometry)

    # -- the whole batch ------------------------------------------------------------------------

    def plans(self, size: int) -> list[Plan]:
        """``size`` requests in every status (one of each at least), oldest first."""
        plans = [self._plan(status) for status in self._statuses(size)]
        for plan in plans:
            if plan.status == "duplicate":
                self._make_duplicate(plan, plans)
        plans.sort(key=lambda p: p.created_at)
        return plans

    def _statuses(self, size: int) -> list[str]:
        # A small demo still has an open request and a resolved one (for_apps needs both).
        order = list(STATUSES) if size >= len(STATUSES) else ["new", "resolved", *STATUSES]
        statuses = list(dict.fromkeys(order))[:size]
        weights = [STATUS_WEIGHTS.get(s, 1) for s in STATUSES]
        rest = max(0, size - len(statuses))
        statuses += self.rng.choices(list(STATUSES), weights=weights, k=rest)
        self.rng.shuffle(statuses)
        return statuses

    def _plan(self, status: str, *, public: bool = False) -> Plan:
        """A request that ends in ``status`` (in a public service when ``public``)."""
        rng = self.rng
        plan = Plan(status=status, created_at=self._filed_at(status))
        plan.category = self._pick_category(public=public)
        plan.area = self._pick_area()
        places = self.places.get(plan.area.id)
        if places:
            self._at_place(plan, rng.choice(places), places)
        else:
            plan.lat, plan.lon = self.point_in(plan.area)
        plan.channel = _weighted(rng, CHANNEL_WEIGHTS)
        plan.reporter = self._reporter(plan.channel)
        if not places:
            streets = filing_content.STREETS.get(plan.area.code, filing_content.FALLBACK_STREETS)
            plan.street, plan.cross = rng.sample(streets, 2)
            plan.number = rng.randrange(100, 4900, 2) + rng.randint(0, 1)
            if plan.category.code in ("traffic-signal", "street-sign", "snow-ice"):
                plan.address = f"{plan.street} & {plan.cross}"
            else:
                plan.address = f"{plan.number} {plan.street}"
        plan.description = self._description(plan)
        plan.answers = self.answers(plan.category, plan.created_at, plan.area)
        plan.priority = self._priority(plan.category)
        plan.private_by_reporter = not plan.category.private and rng.random() < 0.07 and not public
        plan.script = self._script(status)
        return plan

    def _at_place(self, plan: Plan, place: Place, places: list[Place]) -> None:
        """File ``plan`` at an address point: its label, its coordinates; the cross street of
        the descriptions is another street of the same area."""
        plan.lat, plan.lon, plan.address, plan.street = (
            place.lat,
            place.lon,
            place.label,
            place.street,
        )
        plan.number = int(place.number) if place.number.isdigit() else 0
        plan.place_id = place.id
        for _ in range(20):
            other = self.rng.choice(places).street
            if other != place.street:
                plan.cross = other
                break
        else:
            plan.cross = place.street

    # -- when, what, where, who -------------------------------------------------------------------

    def _filed_at(self, status: str) -> datetime:
        rng = self.rng
        low, high = AGE_DAYS.get(status, (1, 120))
        if status == "new" and rng.random() < 0.15:
            low, high = 4, 12  # a few that nobody has looked at yet
        day = (self.now - timedelta(days=rng.uniform(low, high))).astimezone(TZ).date()
        hour = _weighted(rng, FILING_HOURS)
        moment = datetime.combine(day, time(hour, rng.randrange(60), rng.randrange(60)), TZ)
        moment = moment.astimezone(self.now.tzinfo)
        if moment > self.now - timedelta(minutes=20):
            moment = self.now - timedelta(minutes=rng.randint(20, 240))
        return moment

    def _pick_category(self, *, public: bool = False) -> ServiceCategory:
        choices = self.categories
        if public:  # one the history files (a weight), else any
            choices = [
                c
                for c in self.categories
                if not c.private and filing_content.CATEGORY_WEIGHTS.get(c.code, 2)
            ] or choices
        weights = [filing_content.CATEGORY_WEIGHTS.get(c.code, 2) for c in choices]
        return self.rng.choices(choices, weights=weights)[0]

    def _pick_area(self) -> Area:
        weights = [filing_content.AREA_WEIGHTS.get(a.code, 2) for a in self.areas]
        return self.rng.choices(self.areas, weights=weights)[0]

    def point_in(
        self, area: Area, near: tuple[float, float] | None = None, spread: float = 0.0003
    ) -> tuple[float, float]:
        """A random (lat, lon) strictly inside ``area``, near ``near`` when given."""
        geometry = self.shapes[area.id]
        for _ in range(1000):
            if near is None:
                lon = self.rng.uniform(area.min_lon, area.max_lon)
                lat = self.rng.uniform(area.min_lat, area.max_lat)
            else:
                lat = near[0] + self.rng.uniform(-spread, spread)
                lon = near[1] + self.rng.uniform(-spread, spread)
            lat, lon = round(lat, 6), round(lon, 6)
            if shapely.contains_xy(geometry, lon, lat):
                return lat, lon
        if near is not None:
            return near
        point = geometry.representative_point()
        return point.y, point.x

    def _reporter(self, channel: str) -> Reporter:
        rng = self.rng
        if channel in ("web", "mobile") and self.residents and rng.random() < 0.2:
            user = rng.choice(self.residents)
            return Reporter(
                user=user, name=user.name, email=user.email, phone=user.phone, locale=user.locale
            )
        spanish = rng.random() < 0.1
        first = rng.choice(
            filing_content.SPANISH_FIRST_NAMES if spanish else filing_content.FIRST_NAMES
        )
        last = rng.choice(
            filing_content.SPANISH_LAST_NAMES if spanish else filing_content.LAST_NAMES
        )
        email = phone = ""
        if channel in ("phone", "walk_in") or rng.random() < 0.45:
            phone = f"(555) 01{rng.randrange(100):02d}-{rng.randrange(10000):04d}"
        if channel not in ("phone", "walk_in") or rng.random() < 0.4:
            email = f"{_ascii(first)}.{_ascii(last)}{rng.randrange(10, 99)}@example.net"
        if not (email or phone):
            email = f"{_ascii(first)}.{_ascii(last)}@example.net"
        return Reporter(
            name=f"{first} {last}", email=email, phone=phone, locale="es" if spanish else "en"
        )

    def _description(self, plan: Plan, avoid: str = "") -> str:
        """What the reporter wrote (``avoid``: not word for word what someone else wrote)."""
        assert plan.category is not None and plan.area is not None
        code = plan.category.code
        spanish = filing_content.DESCRIPTIONS_ES.get(code)
        if plan.reporter.locale == "es" and spanish:
            templates = spanish
        else:
            templates = filing_content.DESCRIPTIONS.get(code) or [
                f"{plan.category.name} near {{street}}."
            ]
        park = filing_content.PARKS.get(plan.area.code, "the park")
        texts = [
            t.format(street=plan.street, cross=plan.cross, num=plan.number, park=park)
            for t in templates
        ]
        text = self.rng.choice([t for t in texts if t != avoid] or texts)
        own = [w for w in self.words.get((code, plan.reporter.locale), []) if w != avoid]
        if own and self.wording.random() < WORDING_SHARE:
            return self.wording.choice(own)
        return text

    def answers(self, category: ServiceCategory, filed: datetime, area: Area) -> dict[str, Any]:
        """Answers a resident could have given: required ones always, never a stopping one."""
        answers: dict[str, Any] = {}
        for question in category.questions:
            if question.required or self.rng.random() < 0.6:
                answers[question.code] = self._answer(question, filed, area)
        return answers

    def _answer(self, question: CategoryQuestion, filed: datetime, area: Area) -> Any:
        rng = self.rng
        stops = set(question.stop_values or [])
        if question.kind == "yesno":
            return rng.choice([v for v in ("yes", "no", "no") if v not in stops])
        keys = [o["key"] for o in question.options or [] if o["key"] not in stops]
        if question.kind == "single":
            return rng.choice(keys)
        if question.kind == "multi":
            chosen = set(rng.sample(keys, k=min(len(keys), rng.choice((1, 1, 2)))))
            return [k for k in keys if k in chosen]
        if question.kind == "number":
            low, high = filing_content.NUMBER_RANGES.get(question.code, (1, 5))
            return rng.randint(low, high)
        if question.kind == "date":
            local_day: date = filed.astimezone(TZ).date()
            return (local_day - timedelta(days=rng.randint(0, 6))).isoformat()
        return self._text_answer(question, area)

    def _text_answer(self, question: CategoryQuestion, area: Area) -> str:
        rng = self.rng
        if question.code == "park_name":
            value = filing_content.PARKS.get(area.code, "City park")
        elif question.code == "pole_number":
            value = f"RL-{rng.randint(10000, 19999)}"
        elif question.code == "unit":
            value = f"{rng.randint(1, 4)}{rng.choice('ABCD')}"
        else:
            value = rng.choice(filing_content.TEXT_SAMPLES.get(question.code, ["See description"]))
        return value[: question.max_length] if question.max_length else value

    def _priority(self, category: ServiceCategory) -> str:
        priority = filing_content.PRIORITIES.get(category.code, "normal")
        roll = self.rng.random()
        if roll < 0.08:
            return {"low": "normal", "normal": "high", "high": "urgent"}.get(priority, priority)
        if roll < 0.14 and priority == "normal":
            return "low"
        return priority

    # -- the story --------------------------------------------------------------------------------

    def _script(self, status: str) -> list[str]:
        """The actions after filing that end in ``status`` (each a valid transition)."""
        rng = self.rng

        def maybe(p: float, *actions: str) -> list[str]:
            return list(actions) if rng.random() < p else []

        if status == "new":
            return []
        if status == "acknowledged":
            return ["ack", *maybe(0.3, "internal"), *maybe(0.1, "comment_resident")]
        if status == "waiting_on_resident":
            return [*maybe(0.7, "ack"), *maybe(0.4, "start"), "question"]
        if status == "waiting_on_third_party":  # the utility company, a contractor, the state
            return [
                *maybe(0.8, "ack"),
                *maybe(0.5, "start"),
                *maybe(0.2, "internal"),
                "third_party",
                *maybe(0.3, "comment_resident"),
            ]
        if status == "scheduled":  # the work is booked for a day that has not come yet
            return [*maybe(0.8, "ack"), *maybe(0.3, "start"), "schedule", *maybe(0.2, "internal")]
        if status == "rejected":
            return [*maybe(0.4, "ack"), *maybe(0.3, "internal"), "reject"]
        if status == "duplicate":
            return [*maybe(0.25, "ack"), "duplicate"]
        if status == "in_progress":
            if rng.random() < 0.08:  # fixed, then reopened by the reporter
                return ["ack", "start", "resolve", "reopen", *maybe(0.5, "internal")]
            return [
                *maybe(0.85, "ack"),
                "start",
                *maybe(0.1, "question", "answer"),
                *maybe(0.08, "third_party", "resume"),
                *maybe(0.4, "internal"),
                *maybe(0.2, "comment_staff"),
                *maybe(0.1, "comment_resident"),
            ]
        story = [
            *maybe(0.85, "ack"),
            *maybe(0.8, "start"),
            *maybe(0.12, "question", "answer"),
            *maybe(0.1, "third_party", "resume"),
            *maybe(0.3, "internal"),
            *maybe(0.08, "comment_resident"),
        ]
        # Some work was booked for a day and done that day.
        story += ["schedule", "resolve"] if rng.random() < 0.15 else ["resolve"]
        if rng.random() < 0.06:
            story += ["reopen", "internal", "resolve"]
        return story + (["close"] if status == "closed" else [])

    # -- what apps act on ------------------------------------------------------------------------

    def for_apps(
        self, plans: list[Plan], *, survey_sent_by: datetime, survey_open_after: datetime
    ) -> None:
        """Make sure apps have something to act on (the developer page's examples do, on a
        fresh demo of any size from two requests): a public request filed through the API that
        is still open, so its reporter can reply, and a resolved one whose satisfaction survey
        was sent (resolved early enough for it to go out by ``survey_sent_by``) and is still
        open (resolved after ``survey_open_after``, so it has not expired; ``load_surveys``
        leaves it unanswered). The newest fitting plans are filed by an app instead; a demo
        whose only fitting plan is in a private service gets it replanned in a public one.
        Changes ``plans`` in place (oldest first still)."""

        def public(plan: Plan) -> bool:
            return plan.category is not None and not plan.category.private

        def newest(candidates: list[Plan]) -> Plan:
            # Filed by an app already, else by a reporter without an account, else the newest.
            return max(
                candidates,
                key=lambda p: (
                    p.channel == "api" and not p.private_by_reporter,
                    p.reporter.user is None,
                    p.created_at,
                ),
            )

        originals = {id(p.duplicate_of) for p in plans if p.duplicate_of is not None}
        open_plans = [p for p in plans if p.status in OPEN_STATUSES]
        if open_plans:
            fitting = [p for p in open_plans if public(p)]
            if fitting:
                self._by_app(newest(fitting))
            else:
                self._by_app(self._replan(plans, max(open_plans, key=lambda p: p.created_at)))
        resolved = [p for p in plans if p.status == "resolved"]
        last_filed = survey_sent_by - timedelta(hours=1)
        if not resolved or last_filed <= survey_open_after:
            return
        fitting = [
            p for p in resolved if public(p) and survey_open_after < p.created_at < last_filed
        ]
        if fitting:
            plan = newest(fitting)
        else:
            spare = [p for p in resolved if id(p) not in originals]
            if not spare:
                return
            plan = self._replan(plans, max(spare, key=lambda p: p.created_at))
            plan.created_at = min(
                max(plan.created_at, survey_open_after + timedelta(hours=1)), last_filed
            )
            plans.sort(key=lambda p: p.created_at)
        self._by_app(plan, plans)
        plan.ends_by = survey_sent_by

    def _replan(self, plans: list[Plan], old: Plan) -> Plan:
        """``old`` (which no duplicate points at) drawn again in a public service."""
        new = self._plan(old.status, public=True)
        plans[next(i for i, p in enumerate(plans) if p is old)] = new
        plans.sort(key=lambda p: p.created_at)
        return new

    def _by_app(self, plan: Plan, plans: list[Plan] | None = None) -> None:
        """File ``plan`` through the API: public, by a reporter without an account here (the
        app's user), with an email address no other plan's reporter has when ``plans`` are
        given (a survey goes to each address at most once in a while)."""
        plan.channel = "api"
        plan.private_by_reporter = False
        plan.reporter = replace(plan.reporter, user=None)
        if plans is None:
            return
        others = {p.reporter.email for p in plans if p is not plan}
        email = plan.reporter.email
        if not email or email in others:
            local = ".".join(_ascii(part) for part in plan.reporter.name.split()) or "reporter"
            email = next(
                f"{local}.{n}@example.net"
                for n in range(len(plans) + 1)
                if f"{local}.{n}@example.net" not in others
            )
        plan.reporter.email = email

    def _make_duplicate(self, plan: Plan, plans: list[Plan]) -> None:
        """Point ``plan`` at an earlier public report of the same problem and copy its place."""
        originals = [
            p
            for p in plans
            if p.status not in ("duplicate", "rejected")
            and p.category is not None
            and not p.category.private
        ]
        if not originals:
            plan.status, plan.script = "rejected", ["reject"]
            return
        earlier = [p for p in originals if p.created_at < plan.created_at]
        recent = [p for p in earlier if plan.created_at - p.created_at < timedelta(days=45)]
        if recent or earlier:
            original = self.rng.choice(recent or earlier)
        else:
            original = min(originals, key=lambda p: p.created_at)
            plan.created_at = min(
                original.created_at + timedelta(hours=self.rng.uniform(1, 72)),
                self.now - timedelta(minutes=30),
            )
        plan.duplicate_of = original
        plan.category = original.category
        plan.area = original.area
        assert plan.area is not None and plan.category is not None
        if self.places.get(plan.area.id):
            plan.lat, plan.lon = original.lat, original.lon  # the same address point
            plan.place_id = original.place_id
        else:
            plan.lat, plan.lon = self.point_in(plan.area, near=(original.lat, original.lon))
        plan.address = original.address
        plan.street, plan.cross, plan.number = original.street, original.cross, original.number
        plan.description = self._description(plan, avoid=original.description)
        plan.answers = self.answers(plan.category, plan.created_at, plan.area)
        plan.private_by_reporter = False


def _weighted(rng: random.Random, weights: dict[Any, int]) -> Any:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _ascii(name: str) -> str:
    table = str.maketrans("áéíóúñÁÉÍÓÚÑ", "aeiounAEIOUN")
    return name.translate(table).lower()
