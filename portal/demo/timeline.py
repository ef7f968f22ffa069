"""Write planned demo requests with backdated timelines, through ``add_event``, and move their
task and SLA clocks along (``portal.demo.replay``).

Each action is timed after the previous one (staff in working hours, residents while awake),
the clock is frozen at that moment, the status moves with ``ServiceRequest.move_to`` (so every
transition is a legal one) and ``add_event`` records it. The caller must unfreeze the clock.
Event data follows ``portal.requests.updates``: status-changing events carry ``from``/``to``,
staff entries carry ``department_name``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy.orm import Session

from portal.auth.models import User
from portal.catalogue.models import Department
from portal.core import clock
from portal.demo import timeline_content
from portal.demo.plans import TZ, Plan
from portal.demo.replay import CaseWork
from portal.requests.events import add_event
from portal.requests.models import ServiceRequest, Support
from portal.sla.calendar import WorkingCalendar

#: Delay after the previous step (hours, low-high) and who acts.
STEPS: dict[str, tuple[tuple[float, float], str]] = {
    "ack": ((0.3, 16), "staff"),
    "start": ((1, 72), "staff"),
    "question": ((2, 72), "staff"),
    "answer": ((1, 60), "resident"),
    "resolve": ((6, 168), "staff"),
    "close": ((14 * 24, 14 * 24 + 6), "system"),
    "reject": ((2, 72), "staff"),
    "duplicate": ((1, 48), "staff"),
    "comment_staff": ((24, 120), "staff"),
    "comment_resident": ((24, 144), "resident"),
    "internal": ((0.5, 48), "staff"),
    "reopen": ((24, 240), "resident"),
    "third_party": ((2, 72), "staff"),
    "resume": ((24, 10 * 24), "staff"),
    "schedule": ((1, 72), "staff"),
}
MOVES = {
    "ack": "acknowledged",
    "start": "in_progress",
    "resolve": "resolved",
    "close": "closed",
    "reject": "rejected",
    "third_party": "waiting_on_third_party",
    "schedule": "scheduled",
    "resume": "in_progress",
}
#: Actions whose public note is always written (the resident needs to know why it waits).
EXPLAINED = {
    "third_party": (timeline_content.THIRD_PARTY_NOTES, timeline_content.GENERIC_THIRD_PARTY_NOTES),
    "schedule": (timeline_content.SCHEDULED_NOTES, timeline_content.GENERIC_SCHEDULED_NOTES),
    "resume": ({}, timeline_content.RESUME_NOTES),
}


@dataclass(frozen=True)
class Crew:
    """The staff who handle a department's requests in the demo."""

    department: Department
    agent: User
    supervisor: User


def schedule(
    rng: random.Random,
    created: datetime,
    script: list[str],
    now: datetime,
    *,
    pace: float = 1.0,
    hours: WorkingCalendar | None = None,
    until: datetime | None = None,
) -> list[datetime]:
    """A time for each action, in order, all before ``now`` (by ``until`` when given). Staff
    take ``pace`` times the usual delay and act when their department works (``hours``, else
    weekdays 7-17)."""
    times: list[datetime] = []
    moment = created
    for action in script:
        (low, high), who = STEPS[action]
        delay = rng.uniform(low, high)
        moment = moment + timedelta(hours=delay * pace if who == "staff" else delay)
        if who == "staff":
            moment = _working_hours(rng, moment, hours)
        elif who == "resident":
            moment = _waking_hours(rng, moment)
        times.append(moment)
    limit = min(now - timedelta(minutes=5), until or now)
    if times and times[-1] > limit:
        # Squeeze the story into the time there was (a recent request moved fast).
        span, room = times[-1] - created, limit - created
        times = [created + (t - created) * (room / span) for t in times]
    steady: list[datetime] = []
    previous = created + timedelta(seconds=2)
    for moment in times:
        previous = max(moment, previous + timedelta(seconds=30))
        steady.append(min(previous, limit))
    return steady


def _working_hours(
    rng: random.Random, moment: datetime, hours: WorkingCalendar | None = None
) -> datetime:
    if hours is not None:  # the department's own hours, holidays and closures
        if hours.is_working(moment):
            return moment
        return hours.add(hours.next_working_moment(moment), rng.randrange(150) * 60)
    local = moment.astimezone(TZ)
    if local.weekday() < 5 and 7 <= local.hour < 17:
        return moment
    day = local.date() + timedelta(days=0 if local.hour < 7 else 1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    start = datetime.combine(day, time(7, 30), TZ) + timedelta(minutes=rng.randrange(150))
    return start.astimezone(moment.tzinfo)


def _waking_hours(rng: random.Random, moment: datetime) -> datetime:
    local = moment.astimezone(TZ)
    if 7 <= local.hour < 22:
        return moment
    day = local.date() + timedelta(days=0 if local.hour < 7 else 1)
    start = datetime.combine(day, time(7, 0), TZ) + timedelta(minutes=rng.randrange(180))
    return start.astimezone(moment.tzinfo)


class TimelineWriter:
    """Writes the story of each planned request, moving its task and clocks along."""

    def __init__(
        self,
        session: Session,
        rng: random.Random,
        crews: dict[int, Crew],
        *,
        pause_statuses: frozenset[str] = frozenset(),
        hours: dict[int, WorkingCalendar] | None = None,
    ) -> None:
        self.session = session
        self.rng = rng
        self.crews = crews
        #: The case statuses that pause a policy's clocks; each department's working hours.
        self.pause_statuses = pause_statuses
        self.hours = hours or {}

    def write(self, plan: Plan, request: ServiceRequest, now: datetime) -> None:
        assert plan.category is not None
        crew = self.crews[plan.category.department_id]
        self._submitted(plan, request, crew)
        work = CaseWork(
            self.session,
            request,
            title=plan.category.name,
            assignee_id=crew.agent.id if plan.status != "new" else None,
            pause_statuses=self.pause_statuses,
        )
        times = schedule(
            self.rng,
            plan.created_at,
            plan.script,
            now,
            pace=timeline_content.PACE.get(plan.category.code, 1.0)
            * timeline_content.PRIORITY_PACE.get(plan.priority, 1.0),
            hours=self.hours.get(crew.department.id),
            until=plan.ends_by,
        )
        for index, (action, moment) in enumerate(zip(plan.script, times, strict=True)):
            work.catch_up(moment)  # thresholds passed since the last step, at their moments
            clock.freeze(moment)
            booked = (
                self._booked_day(plan.script[index + 1 :], times[index + 1 :], now)
                if action == "schedule"
                else None
            )
            self._act(action, plan, request, crew, work, booked=booked)
        work.catch_up(now)

    def _booked_day(self, script: list[str], times: list[datetime], now: datetime) -> date:
        """The day scheduled work is booked for: the day it was done, else a coming weekday."""
        for action, moment in zip(script, times, strict=True):
            if action in ("resolve", "reject", "duplicate"):
                return moment.astimezone(TZ).date()
            if action in MOVES:
                break
        day = now.astimezone(TZ).date() + timedelta(days=self.rng.randint(1, 12))
        while day.weekday() >= 5:
            day += timedelta(days=1)
        return day

    def _event(self, request: ServiceRequest, kind: str, **kwargs: Any) -> None:
        add_event(self.session, request, kind, **kwargs)

    def _submitted(self, plan: Plan, request: ServiceRequest, crew: Crew) -> None:
        clock.freeze(plan.created_at)
        data: dict[str, Any] = {"channel": plan.channel}
        if plan.channel in ("web", "mobile"):
            self._event(
                request, "submitted", actor=plan.reporter.user, actor_kind="resident", data=data
            )
        elif plan.channel == "api":
            self._event(request, "submitted", actor_kind="api", data=data)
        else:  # phoned, walked in or emailed: staff typed it in
            data["department_name"] = crew.department.name
            self._event(request, "submitted", actor=crew.agent, actor_kind="staff", data=data)
        clock.freeze(plan.created_at + timedelta(seconds=1))
        self._event(
            request,
            "routed",
            actor_kind="system",
            data={
                "department": crew.department.code,
                "department_name": crew.department.name,
                "rule": f"Category: {request.category.name}",
            },
        )

    def _staff(
        self,
        request: ServiceRequest,
        kind: str,
        crew: Crew,
        *,
        body: str = "",
        data: dict[str, Any] | None = None,
        supervisor: bool = False,
    ) -> None:
        actor = crew.supervisor if supervisor else crew.agent
        self._event(
            request,
            kind,
            actor=actor,
            actor_kind="staff",
            body=body,
            data={**(data or {}), "department_name": crew.department.name},
        )

    def _act(
        self,
        action: str,
        plan: Plan,
        request: ServiceRequest,
        crew: Crew,
        work: CaseWork,
        *,
        booked: date | None = None,
    ) -> None:
        rng = self.rng
        resident = plan.reporter.user
        if action in MOVES:
            target = MOVES[action]
            move = {"from": request.move_to(target), "to": target}
            note = ""
            if action == "close":
                self._event(request, "status_changed", actor_kind="system", data=move)
            elif action in EXPLAINED:
                note = self._explain(plan, action, booked)
                self._staff(request, "status_changed", crew, body=note, data=move)
            else:
                note = self._note(plan, target)
                self._staff(
                    request,
                    "status_changed",
                    crew,
                    body=note,
                    data=move,
                    supervisor=action == "reject" or rng.random() < 0.2,
                )
            work.moved(now=clock.now(), staff_reply=bool(note))
        elif action == "question":
            move = {"from": request.move_to("waiting_on_resident"), "to": "waiting_on_resident"}
            self._staff(
                request, "question", crew, body=rng.choice(timeline_content.QUESTIONS), data=move
            )
            work.moved(now=clock.now(), staff_reply=True)
        elif action == "answer":
            move = {"from": request.move_to("in_progress"), "to": "in_progress"}
            self._event(
                request,
                "answer",
                actor=resident,
                actor_kind="resident",
                body=rng.choice(timeline_content.ANSWERS),
                data=move,
            )
            work.moved(now=clock.now(), staff_reply=False)
        elif action == "reopen":
            move = {"from": request.move_to("in_progress"), "to": "in_progress"}
            self._event(
                request,
                "reopened",
                actor=resident,
                actor_kind="resident",
                body=rng.choice(timeline_content.REOPEN_COMMENTS),
                data=move,
            )
            work.moved(now=clock.now(), staff_reply=False)
        elif action == "duplicate":
            original = plan.duplicate_of
            assert original is not None and original.request is not None
            reference = original.request.reference
            request.duplicate_of_id = original.request.id
            move = {"from": request.move_to("duplicate"), "to": "duplicate"}
            self._staff(
                request,
                "duplicate",
                crew,
                body=timeline_content.DUPLICATE_NOTE.format(reference=reference),
                data={"of": reference, **move},
            )
            work.moved(now=clock.now(), staff_reply=False)  # as casework's merge does
        elif action == "comment_staff":
            self._staff(request, "comment", crew, body=rng.choice(timeline_content.STAFF_COMMENTS))
            work.replied(now=clock.now())
        elif action == "comment_resident":
            self._event(
                request,
                "comment",
                actor=resident,
                actor_kind="resident",
                body=rng.choice(timeline_content.RESIDENT_COMMENTS),
            )
        elif action == "internal":
            self._event(
                request,
                "internal_note",
                actor=crew.agent,
                actor_kind="staff",
                body=rng.choice(timeline_content.INTERNAL_NOTES),
            )
        else:
            raise ValueError(f"unknown demo action {action!r}")

    def _explain(self, plan: Plan, action: str, booked: date | None) -> str:
        """Why the case waits (or resumes): a note for the category, else a generic one."""
        assert plan.category is not None
        by_category, generic = EXPLAINED[action]
        note = self.rng.choice(by_category.get(plan.category.code) or generic)
        if booked is None:
            return note
        return note.format(day=f"{booked:%A, %B} {booked.day}")

    def _note(self, plan: Plan, target: str) -> str:
        """A public note for a status change (sometimes none, never for resolutions)."""
        assert plan.category is not None
        if target == "rejected":
            return self.rng.choice(timeline_content.REJECT_NOTES)
        notes = timeline_content.STAFF_NOTES.get(plan.category.code, {}).get(
            target
        ) or timeline_content.GENERIC_NOTES.get(target, [])
        silent = 0.15 if target == "acknowledged" else 0.4  # most thank the resident
        if not notes or (target != "resolved" and self.rng.random() < silent):
            return ""
        return self.rng.choice(notes)


def add_supports(
    session: Session,
    rng: random.Random,
    request: ServiceRequest,
    residents: list[User],
    now: datetime,
) -> int:
    """A few "me too"s on some public requests; ``support_count`` matches the rows."""
    if not request.is_public or request.status in ("rejected", "duplicate"):
        return 0
    if rng.random() >= 0.15:
        return 0
    count = rng.choice((1, 1, 2, 2, 3, 4, 6, 9))
    others = [r for r in residents if r.id != request.reporter_id]
    rng.shuffle(others)
    span = max(
        min(now, request.created_at + timedelta(days=10)) - request.created_at, timedelta(minutes=1)
    )
    for index in range(count):
        user = others[index] if index < len(others) else None
        key = f"u:{user.id}" if user else f"a:{rng.getrandbits(128):032x}"
        session.add(
            Support(
                request_id=request.id,
                supporter_key=key,
                user_id=user.id if user else None,
                created_at=request.created_at + span * rng.uniform(0.05, 1.0),
            )
        )
    request.support_count = count
    return count
