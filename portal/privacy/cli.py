"""`flask retention run [--dry-run]`: the retention sweep by hand."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from portal.core import clock
from portal.privacy.retention import due_counts, run_retention

retention_cli = AppGroup("retention", help="Removing residents' details from old closed requests.")


@retention_cli.command("run")
@click.option(
    "--dry-run", is_flag=True, help="Say what would be removed, per category; change nothing."
)
def run_command(dry_run: bool) -> None:
    """Remove the reporter's contact details and free text from every closed request past
    its category's retention period (the city's default when the category has none)."""
    db = current_app.extensions["portal.db"]
    settings = current_app.extensions["portal.city"].settings()
    now = clock.now()
    if dry_run:
        with db.transaction(write=False) as session:
            due = due_counts(session, settings, now)
        for row in due:
            if row.count:
                click.echo(f"{row.code}: {row.count} request(s) closed over {row.days} days ago")
        total = sum(row.count for row in due)
        click.echo(f"Dry run: {total} request(s) would be redacted. Nothing was changed.")
        return
    done = run_retention(db, settings, now)
    for code, count in done.items():
        click.echo(f"{code}: {count} request(s) redacted")
    click.echo(f"{sum(done.values())} request(s) redacted.")
