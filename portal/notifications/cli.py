"""`flask worker` delivers the outbox and runs periodic jobs; `flask outbox` inspects it."""

from __future__ import annotations

from typing import Any, cast

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import CursorResult, func, select, update

from portal.core import clock
from portal.core.db import Database
from portal.core.outbox import OUTBOX_STATES, OutboxMessage
from portal.core.worker import run_worker


@click.command("worker")
@click.option("--once", is_flag=True, help="Do one round of work and exit.")
@with_appcontext
def worker_command(once: bool) -> None:
    """Run the background worker (outbox delivery, digests, sweeps)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    ok = run_worker(app, once=once, echo=click.echo)
    if once and not ok:
        raise click.exceptions.Exit(1)


outbox_cli = AppGroup("outbox", help="The email outbox.")


def _db() -> Database:
    return current_app.extensions["portal.db"]


@outbox_cli.command("status")
def outbox_status() -> None:
    """Count messages by state and show how late the oldest due one is."""
    now = clock.now()
    session = _db().session()
    try:
        counts = dict(
            session.execute(
                select(OutboxMessage.state, func.count()).group_by(OutboxMessage.state)
            ).all()
        )
        oldest = session.scalar(
            select(func.min(OutboxMessage.next_attempt_at)).where(
                OutboxMessage.state == "pending", OutboxMessage.next_attempt_at <= now
            )
        )
    finally:
        session.close()
    for state in OUTBOX_STATES:
        click.echo(f"{state:8} {counts.get(state, 0)}")
    if oldest is not None:
        click.echo(f"oldest due message waiting {int((now - oldest).total_seconds())}s")


@outbox_cli.command("retry")
@click.argument("message_ids", nargs=-1, type=int, required=True)
def outbox_retry(message_ids: tuple[int, ...]) -> None:
    """Put failed messages back in the queue with a fresh set of attempts."""
    with _db().transaction() as session:
        result = cast(
            CursorResult[Any],
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(message_ids), OutboxMessage.state == "failed")
                .values(state="pending", attempts=0, next_attempt_at=clock.now(), last_error=""),
                execution_options={"synchronize_session": False},
            ),
        )
    click.echo(f"{result.rowcount} message(s) queued again.")
