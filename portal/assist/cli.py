"""`flask assist train`: train a new version of the category suggestion model now (the worker
also does it weekly). `flask assist duplicates`: score existing requests' possible duplicates."""

from __future__ import annotations

from datetime import timedelta

import click
from flask import current_app
from flask.cli import AppGroup

from portal.assist import duplicates
from portal.assist.categories import retrain
from portal.core import clock

assist_cli = AppGroup("assist", help="Assistance models trained on the city's own requests.")


@assist_cli.command("train")
def assist_train() -> None:
    """Train category suggestion on the requests whose category staff confirmed or corrected,
    and print its held-out accuracy per language."""
    db = current_app.extensions["portal.db"]
    settings = current_app.extensions["portal.city"].settings()
    with db.transaction() as session:
        row = retrain(session, settings=settings, now=clock.now())
        if row is None:
            click.echo(
                "Not trained: fewer than "
                f"{settings.assist_category_min_examples} confirmed requests in two categories."
            )
            return
        click.echo(f"Category suggestion v{row.version}: {row.examples} request(s).")
        for language, figures in row.metrics.items():
            click.echo(
                f"  {language}: top 1 {figures['top1']:.1%}, top 3 {figures['top3']:.1%}"
                f" on {figures['n']} held-out request(s)"
            )


@assist_cli.command("duplicates")
@click.option(
    "--days",
    type=click.IntRange(min=1),
    default=None,
    help="Only the requests filed in the last this many days (default: all).",
)
def assist_duplicates(days: int | None) -> None:
    """Score the possible duplicates of existing requests again (those filed since DAYS ago,
    or all): undecided candidates are replaced, decisions kept."""
    db = current_app.extensions["portal.db"]
    settings = current_app.extensions["portal.city"].settings()
    now = clock.now()
    since = now - timedelta(days=days) if days is not None else None
    with db.transaction() as session:
        done = duplicates.rescore(session, settings=settings, now=now, since=since)
    click.echo(f"Possible duplicates scored for {done} request(s).")
