"""Sentences for the ``expected_changed`` timeline entries: when the resident can expect the
request to be resolved, and why that moved (view side: translated for the current request).

An entry's data is ``{"from": ISO or null, "to": ISO or null, "reason": ...,
"paused_seconds": optional}``. The clock pauses with ``to`` null and the waiting status as the
reason, and resumes with ``from`` null, reason "resumed" and how long it was paused; read
together, the two say "moved from Mon 7 Sep to Thu 10 Sep: we waited 2 days for your reply".
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

WAITING_REASONS = ("waiting_on_resident", "waiting_on_third_party", "scheduled")


def _when(value: Any) -> datetime | None:
    if not isinstance(value, str) or len(value) > 40:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _day(moment: datetime) -> str:
    from flask_babel import format_date

    return format_date(moment, "EEE d MMM")


def long_day(moment: datetime) -> str:
    """A date as residents read it: "Thursday, September 10, 2026" (in the city's zone)."""
    from flask_babel import format_date

    return format_date(moment, "full")


def _duration(seconds: float) -> str:
    from portal.core.i18n import format_duration
    from portal.i18n import current_locale

    return format_duration(seconds, current_locale())


def _paused_because(reason: str) -> str:
    from flask_babel import gettext as _

    if reason == "waiting_on_resident":
        return _("the clock is paused while we wait for your reply.")
    if reason == "waiting_on_third_party":
        return _("the clock is paused while we wait for a partner organisation.")
    if reason == "scheduled":
        return _("the clock is paused until the scheduled work.")
    return _("the clock is paused.")


def _moved_because(reason: str, waited_for: str | None, paused_seconds: int) -> str:
    from flask_babel import gettext as _

    waited = _duration(paused_seconds) if paused_seconds > 0 else None
    if reason == "resumed" and waited_for in WAITING_REASONS:
        reason = waited_for
    if reason == "waiting_on_resident":
        return (
            _("we waited %(time)s for your reply.", time=waited)
            if waited
            else _("we waited for your reply.")
        )
    if reason == "waiting_on_third_party":
        return (
            _("we waited %(time)s for a partner organisation.", time=waited)
            if waited
            else _("we waited for a partner organisation.")
        )
    if reason == "scheduled":
        return (
            _("we waited %(time)s for the scheduled work.", time=waited)
            if waited
            else _("we waited for the scheduled work.")
        )
    if reason == "category":
        return _("your request is now filed under another kind of problem.")
    if reason == "priority":
        return _("the priority of your request changed.")
    if reason == "transfer":
        return _("another department is now working on your request.")
    if reason == "reopened":
        return _("your request was reopened.")
    if reason == "resumed":
        return (
            _("work on your request has resumed after a pause of %(time)s.", time=waited)
            if waited
            else _("work on your request has resumed.")
        )
    return ""


def expected_change(event: Any, paused: Any = None) -> str:
    """The sentence for one ``expected_changed`` entry; ``paused`` is the entry that paused
    the clock, when ``event`` resumes it (it gives the date before the pause and the reason)."""
    from flask_babel import gettext as _

    data = event.data or {}
    before, after = _when(data.get("from")), _when(data.get("to"))
    reason = str(data.get("reason") or "")
    waited_for = None
    if paused is not None and before is None:
        pause = paused.data or {}
        before, waited_for = _when(pause.get("from")), str(pause.get("reason") or "")
    try:
        paused_seconds = int(data.get("paused_seconds") or 0)
    except (TypeError, ValueError):
        paused_seconds = 0
    if after is None:
        change = (
            _("Expected resolution on hold (it was %(date)s)", date=_day(before))
            if before
            else _("Expected resolution on hold")
        )
        why = _paused_because(reason)
    else:
        if before is None or _day(before) == _day(after):
            change = _("Expected resolution: %(date)s", date=_day(after))
        elif after > before:
            change = _(
                "Expected resolution moved from %(before)s to %(after)s",
                before=_day(before),
                after=_day(after),
            )
        else:
            change = _(
                "Expected resolution brought forward from %(before)s to %(after)s",
                before=_day(before),
                after=_day(after),
            )
        why = _moved_because(reason, waited_for, paused_seconds)
    return (
        _("%(change)s: %(reason)s", change=change, reason=why)
        if why
        else _("%(change)s.", change=change)
    )


def expected_sentences(events: Iterable[Any]) -> dict[int, str]:
    """The sentence of every ``expected_changed`` entry in ``events`` (oldest first), each
    resume read with the pause before it."""
    sentences: dict[int, str] = {}
    paused = None
    for event in events:
        if event.kind != "expected_changed":
            continue
        data = event.data or {}
        sentences[event.id] = expected_change(event, paused if data.get("from") is None else None)
        paused = event if data.get("to") is None else None
    return sentences
