"""`flask push keys`: a new VAPID key pair for the portal's environment."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from portal.core.vapid import new_key_pair

push_cli = AppGroup("push", help="Web Push notifications.")


@push_cli.command("keys")
def push_keys() -> None:
    """Print a new VAPID key pair as the two environment lines the portal reads.

    Set them once, at set-up, in the environment of every web process and worker (changing
    them later ends every device's subscription). Development makes its own pair in
    instance/dev-vapid-keys.
    """
    private, public = new_key_pair()
    click.echo(f"PORTAL_VAPID_PRIVATE_KEY={private}")
    click.echo(f"PORTAL_VAPID_PUBLIC_KEY={public}")
