"""`flask surveys`: check the survey definitions (the top-level ``surveys/`` folder)."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy.exc import SQLAlchemyError

from portal.surveys.definitions import check
from portal.surveys.schema import SURVEYS_DIR
from portal.surveys.versions import frozen_problems

surveys_cli = AppGroup("surveys", help="Satisfaction surveys.")


@surveys_cli.command("check")
@click.option(
    "--folder",
    type=click.Path(path_type=Path),
    default=SURVEYS_DIR,
    show_default=True,
    help="The folder of survey definitions to check.",
)
@click.option(
    "--no-database", is_flag=True, help="Skip comparing answered versions with the database."
)
def check_command(folder: Path, no_database: bool) -> None:
    """Check every survey definition; print one line per problem and exit 1 if any.

    Also fails when a version residents have answered changed without a new version number."""
    definitions, problems = check(folder)
    if not definitions and not problems:
        problems.append(f"{folder}: no survey definitions (*.toml files)")
    if definitions and not no_database:
        problems.extend(_frozen(definitions))
    for problem in problems:
        click.echo(problem)
    if problems:
        raise SystemExit(1)
    count = len(definitions)
    click.echo(f"{count} survey definition{'' if count == 1 else 's'} OK")


def _frozen(definitions: dict) -> list[str]:
    session = current_app.extensions["portal.db"].session()
    try:
        return frozen_problems(session, definitions)
    except SQLAlchemyError as error:
        orig = getattr(error, "orig", None)  # set on DBAPIError, not on every SQLAlchemyError
        reason = str(orig if orig else error).splitlines()[0]
        return [
            f"cannot compare answered versions with the database ({reason}); "
            "run `flask db upgrade` or pass --no-database"
        ]
    finally:
        session.rollback()
        session.close()
