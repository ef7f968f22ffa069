"""Demo programmes: the Academy, the Liaison Program, an almost full workshop and a full
clean-up day with a waitlist, consistent with the place counters, loaded once."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from portal.demo.programmes import load_programmes
from portal.programmes.models import HOLDS_PLACE, Enrolment, Programme

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


def test_demo_programmes(db, settings):
    assert load_programmes(db, settings, seed=2026, now=NOW, password="pw") == 4
    programmes = {p.title: p for p in db.scalars(select(Programme))}
    academy = programmes["Citizens Engagement Academy"]
    assert (academy.capacity, academy.completion_min_sessions, academy.admission) == (
        25,
        6,
        "first_come",
    )
    assert len(academy.sessions) == 8
    assert [s.mandatory for s in academy.sessions].count(True) == 2
    assert academy.sessions[0].mandatory and academy.sessions[-1].mandatory
    assert [q.kind for q in academy.questions] == ["yesno", "yesno"]
    assert all(q.t("prompt", "es") != q.prompt for q in academy.questions)
    assert academy.t("title", "es") == "Academia de Participación Ciudadana"
    assert academy.starts_on <= academy.ends_on
    liaison = programmes["Neighborhood Liaison Program"]
    assert (liaison.admission, liaison.capacity) == ("application", 12)
    workshop = programmes["Home Emergency Preparedness Workshop"]
    assert len(workshop.sessions) == 1 and workshop.places_left == 1
    cleanup = programmes["Riverbank Clean-up Day"]
    assert cleanup.places_left == 0 and cleanup.waiting == 3

    for programme in programmes.values():
        states = dict(
            db.execute(
                select(Enrolment.state, func.count())
                .where(Enrolment.programme_id == programme.id)
                .group_by(Enrolment.state)
            ).all()
        )
        assert programme.taken == sum(states.get(s, 0) for s in HOLDS_PLACE)
        assert programme.waiting == states.get("waitlisted", 0)
        assert programme.taken <= programme.capacity
    assert (
        db.scalar(
            select(func.count())
            .select_from(Enrolment)
            .where(Enrolment.programme_id == liaison.id, Enrolment.state == "applied")
        )
        == 4
    )

    assert load_programmes(db, settings, seed=2026, now=NOW, password="pw") == 0
    assert db.scalar(select(func.count()).select_from(Programme)) == 4
