"""`flask` commands. Each feature contributes its own group; this module only registers them."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup

db_cli = AppGroup("db", help="Database migrations.")


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Migrate the database to REVISION (default: head)."""
    from portal.migrate import upgrade

    upgrade(current_app.extensions["portal.settings"].database_url, revision)
    click.echo(f"Database at {revision}.")


def register(app: Flask) -> None:
    from portal.assist.cli import assist_cli
    from portal.auth.cli import sso_cli
    from portal.city.cli import city_cli
    from portal.demo.cli import demo_cli
    from portal.mail_in.cli import mail_in_cli
    from portal.notifications.cli import outbox_cli, worker_command
    from portal.open311.cli import api_keys_cli
    from portal.privacy.cli import retention_cli
    from portal.push.cli import push_cli
    from portal.staff.cli import staff_cli
    from portal.surveys.cli import surveys_cli

    app.cli.add_command(db_cli)
    app.cli.add_command(city_cli)
    app.cli.add_command(demo_cli)
    app.cli.add_command(worker_command)
    app.cli.add_command(outbox_cli)
    app.cli.add_command(staff_cli)
    app.cli.add_command(surveys_cli)
    app.cli.add_command(retention_cli)
    app.cli.add_command(mail_in_cli)
    app.cli.add_command(push_cli)
    app.cli.add_command(assist_cli)
    app.cli.add_command(api_keys_cli)
    app.cli.add_command(sso_cli)
