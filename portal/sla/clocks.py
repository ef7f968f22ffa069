"""The arithmetic of one clock: elapsed time, due time, thresholds, pausing and stopping.

A clock's running time is its life (``started_at`` to ``stopped_at`` or now) minus its pauses,
counted on a ``WorkingCalendar``. Nothing here reads the database or the wall clock: every
function takes ``now``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from portal.sla.calendar import WorkingCalendar
from portal.sla.models import LIVE_STAGES, THRESHOLDS, SlaClock

AT_RISK = 75


def _instant(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def pauses(clock: SlaClock) -> list[tuple[datetime, datetime | None]]:
    return [(_instant(start), _instant(end)) for start, end in clock.pauses or []]  # type: ignore[misc]


def segments(clock: SlaClock) -> Iterator[tuple[datetime, datetime | None]]:
    """The running stretches: from the start to the first pause, between pauses, and from
    the last resume to the stop (``None``: still running)."""
    begin: datetime | None = clock.started_at
    for paused, resumed in pauses(clock):
        if begin is not None:
            yield begin, paused
        begin = resumed
    if begin is not None:
        yield begin, clock.stopped_at


@dataclass(frozen=True)
class Elapsed:
    working: float
    wall: float
    paused: float


def elapsed(clock: SlaClock, calendar: WorkingCalendar, now: datetime) -> Elapsed:
    end = clock.stopped_at or now
    working = sum(calendar.working_seconds(a, b or end) for a, b in segments(clock))
    paused = sum(((b or end) - a).total_seconds() for a, b in pauses(clock))
    return Elapsed(working, max((end - clock.started_at).total_seconds(), 0.0), paused)


def moment_at(clock: SlaClock, calendar: WorkingCalendar, seconds: float) -> datetime | None:
    """When the clock's running time reaches ``seconds``: in the past, or projected while it
    runs; ``None`` if it has not and cannot yet (paused, or stopped short of it)."""
    used = 0.0
    for begin, end in segments(clock):
        if end is None:
            return calendar.add(begin, max(seconds - used, 0.0))
        here = calendar.working_seconds(begin, end)
        if used + here >= seconds:
            return calendar.add(begin, max(seconds - used, 0.0))
        used += here
    return None


def threshold_moment(clock: SlaClock, calendar: WorkingCalendar, percent: int) -> datetime | None:
    return moment_at(clock, calendar, clock.target_seconds * percent / 100)


def crossed(clock: SlaClock, calendar: WorkingCalendar, now: datetime) -> int:
    """The highest threshold the clock has passed by ``now`` (0 when none): a threshold is
    passed once the running time is strictly beyond it (exact seconds, never rounded)."""
    highest = 0
    for percent in THRESHOLDS:
        moment = threshold_moment(clock, calendar, percent)
        if moment is not None and moment < now:
            highest = percent
    return highest


def refresh(clock: SlaClock, calendar: WorkingCalendar, now: datetime) -> None:
    """Recompute what follows from the clock's history: elapsed snapshots, due and at-risk
    times, when it breached, and when the next unfired threshold falls."""
    spent = elapsed(clock, calendar, now)
    clock.working_seconds = int(spent.working)
    clock.wall_seconds = int(spent.wall)
    clock.paused_seconds = int(spent.paused)
    clock.updated_at = now
    if clock.stage not in LIVE_STAGES:
        clock.next_threshold_at = None
        return
    due = threshold_moment(clock, calendar, 100)
    clock.due_at = due
    clock.at_risk_at = threshold_moment(clock, calendar, AT_RISK)
    clock.breached_at = due if due is not None and due < now else None
    clock.next_threshold_at = None
    for percent in THRESHOLDS:
        if percent > clock.thresholds_fired:
            clock.next_threshold_at = threshold_moment(clock, calendar, percent)
            break


def start(clock: SlaClock, calendar: WorkingCalendar, *, at: datetime, now: datetime) -> None:
    """Set a new clock going from ``at`` (``original_due_at`` is fixed here)."""
    clock.started_at = at
    clock.stage = "running"
    clock.pauses = []
    clock.thresholds_fired = 0
    refresh(clock, calendar, now)
    clock.original_due_at = clock.due_at


def pause(clock: SlaClock, calendar: WorkingCalendar, now: datetime) -> None:
    if clock.stage != "running":
        return
    clock.pauses = [*(clock.pauses or []), [now.isoformat(), None]]
    clock.stage = "paused"
    refresh(clock, calendar, now)


def resume(clock: SlaClock, calendar: WorkingCalendar, now: datetime) -> None:
    if clock.stage != "paused":
        return
    history = [list(p) for p in clock.pauses or []]
    if history and history[-1][1] is None:
        history[-1][1] = now.isoformat()
    clock.pauses = history
    clock.stage = "running"
    refresh(clock, calendar, now)


def stop(
    clock: SlaClock, calendar: WorkingCalendar, now: datetime, *, outcome: str | None = None
) -> None:
    """End the clock: ``outcome`` "cancelled" or "transferred", or else met/breached by
    whether its working time went beyond the target (exact seconds)."""
    if clock.stage not in LIVE_STAGES:
        return
    if clock.stage == "paused":
        resume(clock, calendar, now)
    refresh(clock, calendar, now)  # due and breach as they stood
    clock.stopped_at = now
    spent = elapsed(clock, calendar, now)
    if outcome is None:
        outcome = "breached" if spent.working > clock.target_seconds else "met"
    clock.stage = outcome
    refresh(clock, calendar, now)


def catch_up(clock: SlaClock, calendar: WorkingCalendar, now: datetime) -> None:
    """Mark thresholds already passed as fired, without acting on them (a re-attached policy
    or a replayed history must not send a burst of notices for time already lost)."""
    clock.thresholds_fired = crossed(clock, calendar, now)
    refresh(clock, calendar, now)
