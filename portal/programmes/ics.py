"""A programme's sessions as an iCalendar file (RFC 5545), for "Add to calendar" (no Flask).

One VEVENT per session with a UID that never changes (``programme-<id>-session-<sid>@<host>``),
so a calendar that imports the file again updates the events instead of doubling them; times
in UTC; the programme and session titles in the reader's language; the place as LOCATION; the
online link (if any) and the programme page in the DESCRIPTION; and a reminder the day before.

For someone without a confirmed place (on the waitlist, applying, or offered a place not yet
accepted) the file is *tentative*: every event is ``STATUS:TENTATIVE`` and
``TRANSP:TRANSPARENT`` (it does not block their time) with no reminder, and says so in its
description; importing it again once they are enrolled updates the same events (same UIDs)
to confirmed, with the reminder.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from icalendar import Alarm, Calendar, Event, vText

from portal.core import clock
from portal.core.i18n import _l
from portal.core.i18n import gettext as translate
from portal.programmes.models import Programme, ProgrammeSession

PRODUCT = "-//Civic Portal//Programmes//EN"
ONLINE = _l("Join online: %(url)s")
PAGE = _l("Programme page: %(url)s")
ALARM = _l("Tomorrow: %(title)s")
MANDATORY = _l("Attendance at this session is required to complete the programme.")
TENTATIVE = _l(
    "You do not have a confirmed place yet: you are on the waitlist, your application is "
    "being decided, or a place offered to you is waiting for your answer."
)


def programme_url(base_url: str, programme_id: int) -> str:
    return f"{base_url.rstrip('/')}/programmes/{programme_id}"


def session_uid(programme_id: int, session_id: int, base_url: str) -> str:
    host = urlsplit(base_url).hostname or "localhost"
    return f"programme-{programme_id}-session-{session_id}@{host}"


def _utc(moment: datetime) -> datetime:
    """In UTC, to the second (iCalendar has no fractions)."""
    moment = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.replace(microsecond=0)


def _line(text: str) -> str:
    """One line of text (titles and places are single-line fields)."""
    return " ".join((text or "").split())


def _summary(programme: Programme, item: ProgrammeSession, locale: str) -> str:
    title = _line(programme.t("title", locale))
    session_title = _line(item.t("title", locale))
    return f"{title}: {session_title}" if session_title else title


def _event(
    programme: Programme,
    item: ProgrammeSession,
    *,
    locale: str,
    base_url: str,
    stamp: datetime,
    tentative: bool,
) -> Event:
    page = programme_url(base_url, programme.id)
    summary = _summary(programme, item, locale)
    event = Event()
    event.add("uid", session_uid(programme.id, item.id, base_url))
    event.add("dtstamp", stamp)
    event.add("dtstart", _utc(item.starts_at))
    event.add("dtend", _utc(item.ends_at))
    event.add("summary", summary)
    place = _line(item.t("place", locale))
    if place:
        event.add("location", place)
    lines = []
    if tentative:
        lines.append(translate(locale, TENTATIVE))
    if item.online_url:
        lines.append(translate(locale, ONLINE, url=item.online_url))
    if item.mandatory:
        lines.append(translate(locale, MANDATORY))
    lines.append(translate(locale, PAGE, url=page))
    event.add("description", "\n".join(lines))
    event.add("url", item.online_url or page)
    if programme.status == "cancelled":
        event.add("status", "CANCELLED")
    elif tentative:
        event.add("status", "TENTATIVE")
    else:
        event.add("status", "CONFIRMED")
    if tentative:
        event.add("transp", "TRANSPARENT")
        return event
    alarm = Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("trigger", timedelta(days=-1))
    alarm.add("description", translate(locale, ALARM, title=summary))
    event.add_component(alarm)
    return event


def programme_calendar(
    programme: Programme, locale: str, base_url: str, *, tentative: bool = False
) -> bytes:
    """The iCalendar file of ``programme``'s sessions in ``locale`` (UTF-8 bytes, CRLF);
    ``tentative`` for a reader without a confirmed place (see the module's docstring)."""
    calendar = Calendar()
    calendar.add("prodid", PRODUCT)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", vText(_line(programme.t("title", locale))))
    # DTSTAMP: when the programme last changed, so the same programme gives the same file.
    stamp = _utc(programme.updated_at or clock.now())
    for item in programme.sessions:
        calendar.add_component(
            _event(
                programme,
                item,
                locale=locale,
                base_url=base_url,
                stamp=stamp,
                tentative=tentative,
            )
        )
    return calendar.to_ical()


__all__ = ["programme_calendar", "programme_url", "session_uid"]
