"""`flask assist train`: train a new version of the category suggestion model now (the worker
also does it weekly)."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

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
