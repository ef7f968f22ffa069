"""Storm-day bursts: many residents filing at the same moment on PostgreSQL."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from dataclasses import replace

import pytest
from sqlalchemy import func, select

from portal import create_app
from portal.core.outbox import OutboxMessage
from portal.migrate import upgrade
from portal.requests.models import ServiceRequest
from portal.requests.service import Filing, submit_request
from tests.factories import INSIDE, Factories
from tests.postgres import scratch_postgres


@contextmanager
def _sqlite(tmp_path):
    yield f"sqlite:///{tmp_path / 'burst.db'}"


@pytest.mark.parametrize(
    "engine", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_concurrent_filings_each_get_their_own_reference(settings, engine, tmp_path):
    """8 writers at once: none is lost to "database is locked" or a duplicate reference."""
    scratch = scratch_postgres() if engine == "postgresql" else _sqlite(tmp_path)
    with scratch as url:
        upgrade(url)
        app = create_app(replace(settings, database_url=url))
        db = app.extensions["portal.db"]
        session = db.session(write=True)
        make = Factories(session, app.extensions["portal.settings"])
        make.area()
        make.category(code="pothole")
        session.commit()
        session.close()

        errors: list[BaseException] = []
        barrier = threading.Barrier(8)

        def file_some(worker: int) -> None:
            try:
                barrier.wait()
                for n in range(10):
                    s = db.session(write=True)
                    submit_request(
                        s,
                        settings=app.extensions["portal.settings"],
                        filing=Filing(
                            category_code="pothole",
                            description=f"burst {worker}-{n}",
                            address="1 Main St",
                            lat=INSIDE[0],
                            lon=INSIDE[1],
                            contact_email=f"r{worker}@example.org",
                        ),
                    )
                    s.commit()
                    s.close()
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=file_some, args=(w,)) for w in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert not errors, errors
        check = db.session()
        references = check.scalars(select(ServiceRequest.reference)).all()
        assert len(references) == 80 and len(set(references)) == 80
        assert check.scalar(select(func.count()).select_from(OutboxMessage)) == 80
        check.close()
        db.dispose()
