"""`flask sso keygen`: a new key pair for private_key_jwt at the city's identity provider."""

from __future__ import annotations

import json

import click
from flask.cli import AppGroup

from portal.core import clock
from portal.core.client_key import new_client_key

sso_cli = AppGroup("sso", help="Single sign-on (OpenID Connect).")


@sso_cli.command("keygen")
@click.option(
    "--type",
    "kind",
    type=click.Choice(["rsa", "ec"]),
    default="rsa",
    show_default=True,
    help="RSA 3072 bits (RS256; every provider) or EC P-256 (ES256).",
)
@click.option(
    "--name",
    default="civic-portal",
    show_default=True,
    help="The certificate's common name (shown in the provider's console).",
)
@click.option(
    "--days",
    type=click.IntRange(1, 3650),
    default=730,
    show_default=True,
    help="How long the certificate is valid.",
)
def sso_keygen(kind: str, name: str, days: int) -> None:
    """Print a new private key for PORTAL_SSO_CLIENT_KEY, and its public half as a JWK (Okta,
    Entra ID) and as a self-signed certificate (Login.gov, Entra ID).

    The key goes in the environment of every web process, or in a file only the portal can
    read, named by PORTAL_SSO_CLIENT_KEY_FILE. Nothing is stored by this command.
    """
    made = new_client_key(kind=kind, common_name=name, days=days, now=clock.now())
    click.echo("# PORTAL_SSO_CLIENT_KEY (secret: the private key, then its certificate)")
    click.echo(made.environment_text.strip())
    click.echo("")
    click.echo(
        f"# Key id (kid; the default, PORTAL_SSO_CLIENT_KEY_ID may stay empty): {made.key.kid}"
    )
    click.echo("")
    click.echo("# Public key as a JWK set (Okta, Entra ID; also served at /account/sso/jwks.json)")
    click.echo(json.dumps(made.key.public_jwks(), indent=2))
    click.echo("")
    click.echo("# Public certificate (Login.gov, Entra ID: upload it as a .pem or .crt file)")
    click.echo(made.certificate_pem.strip())
