"""What the programmes back office shares: the limits of every field, ``ProgrammeAdminError``
(every change is checked first and refused whole with ``{field: code}``, so nothing is
half-written), the city's local times (they arrive as the city's local date and time and are
stored in UTC), the audit entry every change writes (entities ``programme``,
``programme_session``, ``programme_question``, with the values before and after) and the checks
of a text and a number. No Flask here.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from portal.auth.models import User
from portal.core import clock
from portal.core.audit import AuditEntry

TITLE_MAX = 160
SUMMARY_MAX = 300
DESCRIPTION_MAX = 10_000
CAPACITY_MAX = 10_000
OFFER_HOURS_MAX = 720  # thirty days
EMAIL_MAX = 254
PLACE_MAX = 300
URL_MAX = 500
PROMPT_MAX = 300
HELP_MAX = 2_000
CODE_MAX = 40
OPTION_KEY_MAX = 40
OPTION_LABEL_MAX = 200
OPTIONS_MAX = 50
#: A programme has at most this many sessions and questions (the pages list them all).
SESSIONS_MAX = 200
QUESTIONS_MAX = 50
CHOICE_KINDS = ("yesno", "single", "multi")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
OPTION_KEY_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


class ProgrammeAdminError(ValueError):
    """What is wrong, as ``{field: code}``. Codes: required, too_long, unknown, too_small,
    too_large, invalid, before_opens, end_before_start, needs_place, not_https,
    more_than_sessions, has_attendance, below_minimum, too_many, options_for_choice_only,
    needs_options, duplicate_option, unknown_option, min_above_max, number_only."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(", ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def to_utc(day: date | None, at: time | None, timezone: str) -> datetime | None:
    """The UTC instant of the city's local ``day`` at ``at`` (None unless both are given)."""
    if day is None or at is None:
        return None
    return datetime.combine(day, at, tzinfo=ZoneInfo(timezone)).astimezone(UTC)


def local(value: datetime | None, timezone: str) -> datetime | None:
    """``value`` in the city's time zone (for filling forms)."""
    return value.astimezone(ZoneInfo(timezone)) if value else None


def _audit(
    session: Session,
    *,
    actor: User | None,
    entity: str,
    entity_id: int,
    action: str,
    before: dict[str, Any],
    after: dict[str, Any],
) -> None:
    session.add(
        AuditEntry(
            actor_id=actor.id if actor else None,
            entity=entity,
            entity_id=str(entity_id),
            action=action,
            before=before,
            after=after,
            created_at=clock.now(),
        )
    )
    session.flush()


def _text(
    raw: str | None,
    key: str,
    limit: int,
    errors: dict[str, str],
    *,
    required: bool = False,
    one_line: bool = True,
) -> str:
    text = " ".join((raw or "").split()) if one_line else (raw or "").strip()
    if required and not text:
        errors[key] = "required"
    elif len(text) > limit:
        errors[key] = "too_long"
    return text


def _es(values: dict[str, str]) -> dict[str, str]:
    return {key: value for key, value in values.items() if value}


def _with_es(translations: dict[str, Any] | None, values: dict[str, str]) -> dict[str, Any]:
    """``translations`` with the Spanish ``values`` replaced (a new dict, so the JSON column
    sees the change); empty ones are dropped so English shows instead."""
    result = {locale: dict(fields) for locale, fields in (translations or {}).items()}
    spanish = {k: v for k, v in result.get("es", {}).items() if k not in values}
    spanish.update(_es(values))
    if spanish:
        result["es"] = spanish
    else:
        result.pop("es", None)
    return result


def _iso(value: datetime | date | None) -> str | None:
    return value.isoformat() if value else None


def _bounded(value: int, key: str, low: int, high: int, errors: dict[str, str]) -> None:
    if value < low:
        errors[key] = "too_small"
    elif value > high:
        errors[key] = "too_large"
