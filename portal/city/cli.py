"""`flask city import FOLDER [--dry-run]` and `flask city export FOLDER`."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from portal.city.app_icons import city_icons, prune_icons, small_logo_warning
from portal.city.exporter import export_city
from portal.city.folder import CityConfigError, read_folder
from portal.city.importer import ImportSummary, back_office_changes, import_city
from portal.core import clock

city_cli = AppGroup("city", help="The city's configuration (a folder of files).")


@city_cli.command("import")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--dry-run", is_flag=True, help="Check the folder and say what would change; write nothing."
)
def import_command(folder: Path, dry_run: bool) -> None:
    """Check FOLDER whole, then add or change what differs, in one transaction.

    Every problem is listed (file, place, fault) and nothing is written when there is any.
    Departments, categories, areas and the rest missing from the folder are deactivated,
    never deleted.
    """
    try:
        spec = read_folder(
            folder,
            allowed_networks=current_app.extensions["portal.settings"].outbound_allowed_networks,
        )
        changes = _back_office_changes()
        summary = _apply(spec, dry_run=dry_run)
    except CityConfigError as exc:
        click.echo(str(exc), err=True)
        raise SystemExit(1) from exc
    current_app.extensions["portal.city"].clear()
    click.echo(format_summary(summary, folder=str(folder), dry_run=dry_run))
    if not dry_run:
        click.echo(draw_icons())
    warning = small_logo_warning(
        spec.city.get("logo"), spec.city.get("logo_type", ""), spec.city.get("logo_filename", "")
    )
    if warning:
        click.echo(warning)
    if changes and summary.changed_anything:
        click.echo(
            f"Note: {changes} change(s) were made in the back office since the last "
            "import; where this folder differs from them, the folder "
            f"{'would win' if dry_run else 'won'}. `flask city export FOLDER` writes the "
            "live configuration to start from."
        )


def draw_icons() -> str:
    """Draw the installed web app's icons from the imported logo (``portal.city.app_icons``);
    say where they are."""
    settings = current_app.extensions["portal.city"].settings()
    with current_app.extensions["portal.db"].transaction(write=False) as session:
        folder = city_icons(session, settings)
    prune_icons(settings.upload_dir, keep=settings.icons_version)
    return f"Home-screen icons: {folder}"


def _back_office_changes() -> int:
    with current_app.extensions["portal.db"].transaction(write=False) as session:
        return back_office_changes(session)


def _apply(spec, *, dry_run: bool) -> ImportSummary:
    db = current_app.extensions["portal.db"]
    if not dry_run:
        with db.transaction() as session:
            return import_city(session, spec, now=clock.now())
    session = db.session(write=True)
    try:
        return import_city(session, spec, now=clock.now())
    finally:
        session.rollback()
        session.close()


def format_summary(summary: ImportSummary, *, folder: str, dry_run: bool) -> str:
    lines = summary.lines()
    if dry_run:
        head = (
            f"{folder} is valid. Importing it would change:"
            if summary.changed_anything
            else f"{folder} is valid and already imported: importing it would change nothing."
        )
    else:
        head = (
            f"Imported {folder}:"
            if summary.changed_anything
            else f"{folder} was already imported: nothing changed."
        )
    return "\n".join([head, *(f"  {line}" for line in lines)])


@city_cli.command("export")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
def export_command(folder: Path) -> None:
    """Write the live configuration into FOLDER (the format `flask city import` reads)."""
    db = current_app.extensions["portal.db"]
    try:
        with db.transaction(write=False) as session:
            written = export_city(session, folder)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    except OSError as exc:
        raise click.ClickException(f"cannot write {folder}: {exc.strerror or exc}") from exc
    click.echo(f"Wrote {len(written)} files to {folder}: {', '.join(written)}")
