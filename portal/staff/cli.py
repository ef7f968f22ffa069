"""`flask staff`: create, deactivate, reactivate and list staff accounts."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy.orm import Session

from portal.auth.models import User
from portal.auth.service import PASSWORD_MIN, EmailTaken, WeakPassword, find_by_email
from portal.staff import importing, queries, service
from portal.staff.models import DEPARTMENT_ROLES, STAFF_ROLES

staff_cli = AppGroup("staff", help="Staff accounts.")

_PASSWORD_PROBLEMS = {
    "too_short": f"the password must be at least {PASSWORD_MIN} characters",
    "too_long": "the password is too long",
    "repetitive": "the password must not be one character repeated",
    "email": "the password must not be the email address",
    "common": "the password is among the most commonly used; choose another",
}


@contextmanager
def _session(*, write: bool = True) -> Iterator[Session]:
    """A session committed once at the end, rolled back on any error."""
    with current_app.extensions["portal.db"].transaction(write=write) as session:
        yield session


def _parse_departments(
    session: Session, role: str, specs: tuple[str, ...]
) -> list[tuple[int, str]]:
    default = service.default_department_role(role)
    memberships = []
    for spec in specs:
        code, _, department_role = spec.partition(":")
        department_role = department_role or default
        if department_role not in DEPARTMENT_ROLES:
            raise click.BadParameter(
                f"{spec!r}: the role must be agent or supervisor", param_hint="--department"
            )
        department = queries.department_by_code(session, code.strip())
        if department is None:
            raise click.BadParameter(
                f"no department has the code {code!r}", param_hint="--department"
            )
        memberships.append((department.id, department_role))
    return memberships


def _staff_errors(call: Callable[[], Any]) -> Any:
    """Run a service call, turning domain errors into clear command-line errors."""
    try:
        return call()
    except EmailTaken as exc:
        raise click.ClickException(f"an account already uses {exc}") from exc
    except WeakPassword as exc:
        raise click.ClickException(_PASSWORD_PROBLEMS.get(exc.reason, exc.reason)) from exc
    except service.MembershipRequired as exc:
        raise click.ClickException("agents and supervisors need at least one --department") from exc
    except service.RoleMismatch as exc:
        raise click.ClickException(
            "an agent cannot supervise a department, and a supervisor must supervise one "
            "(use --department CODE:supervisor)"
        ) from exc
    except service.NotStaff as exc:
        raise click.ClickException("that account is a resident's, not a staff member's") from exc
    except service.StaffError as exc:
        raise click.ClickException(str(exc)) from exc


@staff_cli.command("create")
@click.argument("email")
@click.option("--name", required=True, help="The member's full name.")
@click.option("--role", required=True, type=click.Choice(STAFF_ROLES))
@click.option(
    "--department",
    "departments",
    multiple=True,
    metavar="CODE[:agent|supervisor]",
    help="A department the member works in (repeatable). The department role "
    "defaults to the member's role for agents and supervisors, else agent.",
)
@click.option(
    "--password", default=None, help="The password (asked for when missing; prefer the prompt)."
)
@click.option(
    "--generate-password", is_flag=True, help="Make up a random password and print it once."
)
def create(
    email: str,
    name: str,
    role: str,
    departments: tuple[str, ...],
    password: str | None,
    generate_password: bool,
) -> None:
    """Create a staff account for EMAIL."""
    if password is not None and generate_password:
        raise click.UsageError("give --password or --generate-password, not both")
    if generate_password:
        password = service.generate_password()
    elif password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    assert password is not None
    with _session() as session:
        memberships = _parse_departments(session, role, departments)
        user = _staff_errors(
            lambda: service.create_staff(
                session,
                email=email,
                name=name,
                role=role,
                memberships=memberships,
                password=password,
            )
        )
        email = user.email
    click.echo(f"Created {role} {email}.")
    if generate_password:
        click.echo(f"Password: {password}")


def _find(session: Session, email: str) -> User:
    user = find_by_email(session, email)
    if user is None:
        raise click.ClickException(f"no account has the email {email}")
    return user


@staff_cli.command("deactivate")
@click.argument("email")
def deactivate(email: str) -> None:
    """Switch off EMAIL's staff account and sign it out everywhere (history is kept)."""
    with _session() as session:
        user = _find(session, email)
        was_active = user.active
        _staff_errors(lambda: service.deactivate(session, user, None))
    click.echo(
        f"Deactivated {user.email}." if was_active else f"{user.email} was already inactive."
    )


@staff_cli.command("reactivate")
@click.argument("email")
def reactivate(email: str) -> None:
    """Switch EMAIL's staff account back on."""
    with _session() as session:
        user = _find(session, email)
        was_active = user.active
        _staff_errors(lambda: service.reactivate(session, user, None))
    click.echo(f"{user.email} was already active." if was_active else f"Reactivated {user.email}.")


@staff_cli.command("list")
@click.option("--department", "department_code", default=None, help="Only this department.")
@click.option("--role", default=None, type=click.Choice(STAFF_ROLES))
@click.option(
    "--inactive/--active", "inactive", default=None, help="Only inactive (or only active) accounts."
)
def list_command(department_code: str | None, role: str | None, inactive: bool | None) -> None:
    """List staff accounts by name, with their departments."""
    with _session(write=False) as session:
        department_id = None
        if department_code is not None:
            department = queries.department_by_code(session, department_code)
            if department is None:
                raise click.BadParameter(
                    f"no department has the code {department_code!r}", param_hint="--department"
                )
            department_id = department.id
        active = None if inactive is None else not inactive
        after: tuple[str, int] | None = None
        while True:
            page = queries.list_staff(
                session,
                department_id=department_id,
                role=role,
                active=active,
                after=after,
                limit=500,
            )
            if not page:
                break
            memberships = queries.memberships_by_user(session, [u.id for u in page])
            for user in page:
                departments = ", ".join(f"{d.code}:{r}" for d, r in memberships[user.id]) or "-"
                state = "active" if user.active else "inactive"
                click.echo(f"{user.email}\t{user.name}\t{user.role}\t{state}\t{departments}")
            after = (page[-1].name, page[-1].id)


@staff_cli.command("import")
@click.argument("csv_file", metavar="FILE.csv", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--dry-run", is_flag=True, help="Check the file and say what would change; write nothing."
)
def import_command(csv_file: str, dry_run: bool) -> None:
    """Add and update staff from FILE.csv (columns email,name,role,departments).

    New members get an email with a link to choose their password. Nobody missing from the
    file is removed or deactivated; importing the same file again changes nothing. Any problem
    in the file (all are listed) means nothing is written. See docs/staff-import.md.
    """
    with open(csv_file, "rb") as handle:
        data = handle.read()
    settings = current_app.extensions["portal.city"].settings()
    with _session(write=not dry_run) as session:
        plan = importing.plan_import(session, data)
        for problem in plan.problems:
            click.echo(problem.describe(csv_file), err=True)
        if plan.problems:
            count = len(plan.problems)
            raise click.ClickException(
                f"{count} problem{'s' if count != 1 else ''} in {csv_file}: nothing was imported."
            )
        for note in plan.notes:
            click.echo(f"note: {note.describe(csv_file)}")
        if dry_run:
            _echo_entries(plan, "would add", "would change")
            click.echo(
                f"Dry run, nothing written: {len(plan.added)} staff would be added "
                f"({len(plan.added)} invitations), {len(plan.changed)} changed, "
                f"{len(plan.unchanged)} unchanged."
            )
            return
        outcome = _staff_errors(lambda: importing.apply_plan(session, plan, settings=settings))
    _echo_entries(plan, "added", "changed")
    click.echo(outcome.summary())


def _echo_entries(plan: importing.Plan, added: str, changed: str) -> None:
    for entry in plan.added:
        click.echo(
            f"{added}: line {entry.line}: {entry.email} ({entry.role}; "
            f"{plan.describe_memberships(entry.memberships)})"
        )
    for entry in plan.changed:
        click.echo(f"{changed}: line {entry.line}: {entry.email}: {'; '.join(entry.differences)}")
