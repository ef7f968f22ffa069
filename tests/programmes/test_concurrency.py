"""Many residents enrolling (and leaving) at the same moment never overfill a programme.

Each thread has its own session and connection on a scratch database (PostgreSQL, and SQLite
where write transactions begin ``IMMEDIATE`` and so run one at a time), and all start
together at a barrier.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from portal.auth.models import User
from portal.core import clock
from portal.programmes import service
from portal.programmes.models import Enrolment, Programme
from portal.programmes.offers import process_programme_offers
from tests.factories import Factories
from tests.scratch import ENGINES, arrange, scratch_app
from tests.threads import together


def in_transaction(app, work: Callable[[Any, Any], Any]) -> Callable[[], Any]:
    """A job doing ``work(session, settings)`` in its own write transaction."""
    db = app.extensions["portal.db"]
    settings = app.extensions["portal.settings"]

    def job() -> Any:
        with db.transaction() as session:
            return work(session, settings)

    return job


def enrolling(app, programme_id: int, user_id: int) -> Callable[[], Any]:
    def work(session, settings):
        try:
            result = service.enrol(
                session,
                settings=settings,
                programme=session.get(Programme, programme_id),
                user=session.get(User, user_id),
                raw={},
                locale="en",
            )
        except service.ProgrammeError as refused:
            return refused.code
        return result.outcome, result.position

    return in_transaction(app, work)


def summary(app, programme_id: int) -> tuple[Programme, dict[str, int], list[int | None]]:
    db = app.extensions["portal.db"]
    session = db.session()
    try:
        programme = session.get(Programme, programme_id)
        states = dict(
            session.execute(
                select(Enrolment.state, func.count())
                .where(Enrolment.programme_id == programme_id)
                .group_by(Enrolment.state)
            ).all()
        )
        waiting = session.scalars(
            select(Enrolment).where(
                Enrolment.programme_id == programme_id, Enrolment.state == "waitlisted"
            )
        ).all()
        positions = sorted(service.waitlist_position(session, e) for e in waiting)
        return programme, states, positions
    finally:
        session.close()


@pytest.mark.parametrize("engine", ENGINES)
def test_forty_residents_at_once_fill_ten_places_and_queue_the_rest(settings, engine, tmp_path):
    with scratch_app(engine, settings, tmp_path) as app:

        def build(make: Factories):
            programme = make.programme(sessions=2, capacity=10)
            return programme.id, [make.user().id for _ in range(40)]

        programme_id, user_ids = arrange(app, build)
        results, errors = together([enrolling(app, programme_id, u) for u in user_ids])
        assert not errors, errors
        outcomes = [r[0] for r in results]
        assert outcomes.count("enrolled") == 10 and outcomes.count("waitlisted") == 30
        # Each waiting resident was told a different place in line.
        assert sorted(r[1] for r in results if r[0] == "waitlisted") == list(range(1, 31))

        programme, states, positions = summary(app, programme_id)
        assert (programme.taken, programme.waiting) == (10, 30)
        assert states == {"enrolled": 10, "waitlisted": 30}
        assert positions == list(range(1, 31))


@pytest.mark.parametrize("engine", ENGINES)
def test_one_resident_enrolling_from_several_tabs_gets_one_place(settings, engine, tmp_path):
    with scratch_app(engine, settings, tmp_path) as app:

        def build(make: Factories):
            return make.programme(sessions=1, capacity=5).id, make.user().id

        programme_id, user_id = arrange(app, build)
        results, errors = together([enrolling(app, programme_id, user_id) for _ in range(8)])
        assert not errors, errors
        assert sorted(results, key=str) == [("enrolled", None)] + ["already_enrolled"] * 7
        programme, states, _ = summary(app, programme_id)
        assert (programme.taken, programme.waiting) == (1, 0)
        assert states == {"enrolled": 1}


@pytest.mark.parametrize("engine", ENGINES)
def test_concurrent_cancellations_and_offer_rounds_never_overfill(settings, engine, tmp_path):
    with scratch_app(engine, settings, tmp_path) as app:

        def build(make: Factories):
            programme = make.programme(sessions=2, capacity=10)
            enrolled = [make.enrolment(programme, state="enrolled").id for _ in range(10)]
            for _ in range(20):
                make.enrolment(programme, state="waitlisted")
            return programme.id, enrolled

        programme_id, enrolled_ids = arrange(app, build)

        def cancelling(enrolment_id: int) -> Callable[[], Any]:
            def work(session, settings):
                service.cancel_enrolment(
                    session,
                    settings=settings,
                    enrolment=session.get(Enrolment, enrolment_id),
                    by=None,
                )

            return in_transaction(app, work)

        def filling(session, settings):
            return service.fill_places(session, settings=settings, programme_id=programme_id)

        db = app.extensions["portal.db"]
        settings_ = app.extensions["portal.settings"]

        jobs = [cancelling(e) for e in enrolled_ids[:6]]
        jobs += [in_transaction(app, filling) for _ in range(4)]
        jobs += [lambda: process_programme_offers(db, settings_, clock.now()) for _ in range(2)]
        _results, errors = together(jobs)
        assert not errors, errors

        programme, states, positions = summary(app, programme_id)
        assert states == {"enrolled": 4, "offered": 6, "waitlisted": 14, "cancelled": 6}
        assert (programme.taken, programme.waiting) == (10, 14)
        assert positions == list(range(1, 15))
