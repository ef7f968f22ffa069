"""`flask worker`: delivers the outbox and runs periodic jobs."""

from __future__ import annotations

import click


@click.command("worker")
@click.option("--once", is_flag=True, help="Do one round of work and exit.")
def worker_command(once: bool) -> None:
    """Run the background worker (outbox delivery, digests, sweeps)."""
    click.echo("worker: not implemented yet")
