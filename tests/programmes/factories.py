"""Test data of community programmes: programmes with sessions and questions, and
enrolments, written directly."""

from __future__ import annotations

from typing import Any

from portal.auth.models import User
from portal.core import clock
from tests.factory_base import FactoryBase, next_n


class ProgrammeFactories(FactoryBase):
    def programme(
        self, *, sessions: int = 0, questions: list[dict[str, Any]] | None = None, **kw: Any
    ) -> Any:
        """A programme (status "open", enrolment window open now, 10 places unless given)
        with ``sessions`` weekly two-hour sessions starting a week from now, and eligibility
        ``questions`` (dicts of ``EligibilityQuestion`` fields; ``prompt`` defaults from
        ``code``)."""
        from datetime import timedelta

        from portal.programmes.models import EligibilityQuestion, Programme, ProgrammeSession

        n = next_n()
        now = clock.now()
        kw.setdefault("title", f"Programme {n}")
        kw.setdefault("summary", f"What programme {n} is about")
        kw.setdefault("description", f"Programme {n} meets weekly.")
        kw.setdefault("translations", {"es": {"title": f"Programa {n}"}})
        kw.setdefault("status", "open")
        kw.setdefault("capacity", 10)
        kw.setdefault("enrol_opens_at", now - timedelta(days=1))
        kw.setdefault("enrol_closes_at", now + timedelta(days=6))
        programme = self._add(Programme(**kw))
        first = now + timedelta(days=7)
        for number in range(sessions):
            start = first + timedelta(weeks=number)
            self._add(
                ProgrammeSession(
                    programme=programme,
                    title=f"Session {number + 1}",
                    starts_at=start,
                    ends_at=start + timedelta(hours=2),
                    place="City Hall, Room 101",
                )
            )
        if sessions:
            programme.starts_on = first.date()
            programme.ends_on = (first + timedelta(weeks=sessions - 1)).date()
        for position, spec in enumerate(questions or []):
            spec = dict(spec)
            spec.setdefault("prompt", spec["code"].replace("_", " ").capitalize())
            self._add(EligibilityQuestion(programme=programme, position=position, **spec))
        self.session.flush()
        self.session.refresh(programme)
        return programme

    def enrolment(self, programme: Any, user: User | None = None, **kw: Any) -> Any:
        """An enrolment written directly (state "enrolled" unless given); the programme's
        place and waitlist counters follow the state."""
        from portal.programmes.models import HOLDS_PLACE, Enrolment

        n = next_n()
        user = user or self.user()
        kw.setdefault("state", "enrolled")
        kw.setdefault("check_in_code", f"C{n:05d}"[-6:])
        kw.setdefault("queued_at", clock.now())
        if kw["state"] == "enrolled":
            kw.setdefault("enrolled_at", clock.now())
        if kw["state"] in HOLDS_PLACE:
            programme.taken += 1
        elif kw["state"] == "waitlisted":
            programme.waiting += 1
        return self._add(Enrolment(programme_id=programme.id, user_id=user.id, **kw))
