"""Load a city's staff from a CSV file (``flask staff import FILE.csv [--dry-run]``).

The file
--------
UTF-8 text (a byte-order mark, as spreadsheets write, is allowed), comma-separated, with a
header row naming the four columns ``email``, ``name``, ``role`` and ``departments`` in any
order (no other column is accepted; names are compared trimmed and in lower case)::

    email,name,role,departments
    pat@city.example,Pat Jones,supervisor,roads;water:agent
    kim@city.example,Kim Lee,agent,parks
    ada@city.example,Ada Admin,admin,

``email``
    Identifies the member: compared trimmed and in lower case, listed at most once.
``name``
    Their full name (at most 120 characters).
``role``
    One of ``STAFF_ROLES``: agent, supervisor, coordinator, admin.
``departments``
    Department memberships separated by ``;``, each ``CODE`` or ``CODE:agent`` or
    ``CODE:supervisor``. Without ``:role`` an agent or supervisor joins with their own role,
    a coordinator or admin as an agent (as ``flask staff create --department``). Agents and
    supervisors need at least one department; an agent supervises none, a supervisor at
    least one. Coordinators and admins may leave it empty.

Blank lines are skipped. A value with a comma in it is written in double quotes.

What an import does
-------------------
The whole file is checked first, against the database as well (departments exist, no address
belongs to a resident). Any problem, and every problem is reported at once with its line,
means nothing is written. Otherwise, in one transaction, each row is matched by email with
an existing account:

- a new address becomes an active staff account with no usable password, and gets an email
  (queued in the outbox, in the same transaction) with a link to choose one, valid for
  ``INVITATION_DAYS`` days (the password-reset link machinery, with a longer lifetime);
- an existing member whose name, role or memberships differ is updated through
  ``service.update_staff``, so the audit trail records the change;
- anyone else is left alone. Members missing from the file are never deleted or
  deactivated, and a deactivated member stays deactivated. Importing the same file again
  changes nothing and sends nothing.

Look-ups are made in bulk (all departments, then the listed accounts and their memberships
500 addresses at a time), and the unusable password hash is computed once per import. New
members are written in bulk too (``service.create_staff_many``: multi-row INSERTs of the
accounts, their memberships and their "created" audit entries, the same rows
``service.create_staff`` writes), then their invitations (one multi-row INSERT into the
outbox, the same messages ``queue_email`` queues), and then the changes to existing members
are made one by one, in file order, through ``service.update_staff``. So the statements sent,
and the time the database's write lock is held, no longer grow by some ten round trips per
new member. The invitation is rendered once per language with stand-ins for the member's name,
address and link, which are then filled in (escaped in the HTML as the template escapes them);
that is checked against an ordinary rendering of the first member, and should they ever
differ every invitation is rendered in full.

Reading and checking the file is in ``portal.staff.import_csv``. No Flask here; nothing commits
(the command does, once).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from markupsafe import escape
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from portal.auth.models import User
from portal.auth.service import make_reset_token, password_sign_in_allowed
from portal.catalogue.models import Department
from portal.core import clock
from portal.core.config import Settings
from portal.core.mail import render_message
from portal.core.outbox import OutboxMessage
from portal.staff import service
from portal.staff.import_csv import Problem, decode, read_rows
from portal.staff.models import STAFF_ROLES, StaffMembership

INVITATION_DAYS = 7
INVITATION_TEMPLATE = "staff_invitation"
#: Addresses (and account ids) per ``IN (...)`` look-up.
CHUNK = 500


@dataclass
class Entry:
    """What the import does with one row: "add", "change" or "unchanged"."""

    line: int
    email: str
    name: str
    role: str
    #: department id -> department role
    memberships: dict[int, str]
    action: str = "add"
    user: User | None = None
    #: For a change: what differs, readably ("role: agent -> supervisor").
    differences: list[str] = field(default_factory=list)


@dataclass
class Plan:
    entries: list[Entry] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    #: Worth knowing, but not wrong (a listed member is deactivated).
    notes: list[Problem] = field(default_factory=list)
    #: department id -> code, for describing memberships.
    codes: dict[int, str] = field(default_factory=dict)

    def _with(self, action: str) -> list[Entry]:
        return [e for e in self.entries if e.action == action]

    @property
    def added(self) -> list[Entry]:
        return self._with("add")

    @property
    def changed(self) -> list[Entry]:
        return self._with("change")

    @property
    def unchanged(self) -> list[Entry]:
        return self._with("unchanged")

    def describe_memberships(self, memberships: dict[int, str]) -> str:
        return ", ".join(sorted(f"{self.codes[d]}:{r}" for d, r in memberships.items())) or "-"


@dataclass(frozen=True)
class Outcome:
    added: int
    invited: int
    changed: int
    unchanged: int

    def summary(self) -> str:
        return (
            f"{self.added} staff added ({self.invited} invitations queued), "
            f"{self.changed} changed, {self.unchanged} unchanged."
        )


# --- planning against the database -----------------------------------------------------------


def _chunks(items: Sequence[str] | Sequence[int]) -> Iterator[list]:
    for start in range(0, len(items), CHUNK):
        yield list(items[start : start + CHUNK])


def _accounts(session: Session, emails: Sequence[str]) -> dict[str, User]:
    found: dict[str, User] = {}
    for chunk in _chunks(emails):
        for user in session.scalars(select(User).where(User.email.in_(chunk))):
            found[user.email] = user
    return found


def _current_memberships(session: Session, user_ids: Sequence[int]) -> dict[int, dict[int, str]]:
    current: dict[int, dict[int, str]] = {i: {} for i in user_ids}
    for chunk in _chunks(user_ids):
        rows = session.execute(
            select(
                StaffMembership.user_id, StaffMembership.department_id, StaffMembership.role
            ).where(StaffMembership.user_id.in_(chunk))
        )
        for user_id, department_id, role in rows:
            current[user_id][department_id] = role
    return current


def plan_import(session: Session, data: bytes) -> Plan:
    """Check the file (its bytes) against the database and work out what importing it does.

    Writes nothing. ``plan.problems`` lists every problem found, by line; when it is empty,
    ``apply_plan`` carries the plan out.
    """
    plan = Plan()
    text, problem = decode(data)
    if problem is not None or text is None:
        plan.problems.append(problem or Problem(None, "is empty"))
        return plan
    departments: dict[str, int] = {
        code: id_ for code, id_ in session.execute(select(Department.code, Department.id))
    }
    plan.codes = {i: c for c, i in departments.items()}
    rows, problems = read_rows(text, departments)
    accounts = _accounts(session, sorted({r.email for r in rows if r.email}))
    for row in rows:
        user = accounts.get(row.email)
        if user is not None and user.role not in STAFF_ROLES:
            problems.append(
                Problem(
                    row.line,
                    f"{row.email} belongs to a resident's account: "
                    "the import never turns a resident into staff",
                )
            )
    plan.problems = sorted(problems, key=lambda p: -1 if p.line is None else p.line)
    if plan.problems:
        return plan
    staff_ids = sorted(u.id for u in accounts.values())
    current = _current_memberships(session, staff_ids)
    for row in rows:
        assert row.memberships is not None
        entry = Entry(
            line=row.line,
            email=row.email,
            name=row.name,
            role=row.role,
            memberships=dict(row.memberships),
        )
        user = accounts.get(row.email)
        if user is not None:
            entry.user = user
            entry.differences = _differences(plan, user, current[user.id], entry)
            entry.action = "change" if entry.differences else "unchanged"
            if not user.active:
                plan.notes.append(
                    Problem(
                        row.line,
                        f"{user.email} is deactivated, and stays so "
                        f"(flask staff reactivate {user.email})",
                    )
                )
        plan.entries.append(entry)
    return plan


def _differences(plan: Plan, user: User, current: dict[int, str], entry: Entry) -> list[str]:
    differences = []
    if user.name != entry.name:
        differences.append(f'name: "{user.name}" -> "{entry.name}"')
    if user.role != entry.role:
        differences.append(f"role: {user.role} -> {entry.role}")
    if current != entry.memberships:
        differences.append(
            f"departments: {plan.describe_memberships(current)} -> "
            f"{plan.describe_memberships(entry.memberships)}"
        )
    return differences


# --- carrying it out -------------------------------------------------------------------------


def apply_plan(session: Session, plan: Plan, *, settings: Settings) -> Outcome:
    """Add and update the planned members and queue each new one's invitation (flushed, not
    committed): the new members first, in bulk, then the changes, in file order. Raises
    ``ValueError`` for a plan with problems, and the service's errors (``EmailTaken`` when an
    account was created since the plan was made)."""
    if plan.problems:
        raise ValueError("the plan has problems")
    invited = 0
    added = plan.added
    if added:
        users = service.create_staff_many(
            session,
            [
                service.NewStaff(
                    email=e.email, name=e.name, role=e.role, memberships=list(e.memberships.items())
                )
                for e in added
            ],
            password_hash=service.unusable_password_hash(),
        )
        invited = invite(session, settings, users)
    for entry in plan.changed:
        assert entry.user is not None
        service.update_staff(
            session,
            entry.user,
            name=entry.name,
            role=entry.role,
            memberships=list(entry.memberships.items()),
            actor=None,
        )
    return Outcome(
        added=len(added), invited=invited, changed=len(plan.changed), unchanged=len(plan.unchanged)
    )


def invite(session: Session, settings: Settings, users: Sequence[User]) -> int:
    """Queue each new member's invitation (what ``queue_email`` would queue for them, with no
    dedupe key), in one multi-row INSERT; returns how many were queued."""
    renderer = _InvitationRenderer(settings)
    now = clock.now()
    rows: list[dict[str, Any]] = []
    for user in users:
        if not user.email:  # as queue_email: no address, no message
            continue
        # A member who will sign in only through the provider is sent no password link.
        set_password_url = ""
        if password_sign_in_allowed(user, settings):
            token = make_reset_token(settings, user, max_age=INVITATION_DAYS * 24 * 3600)
            set_password_url = f"{settings.base_url}/account/reset/{token}"
        locale = user.locale if user.locale in settings.languages else "en"
        subject, text, html = renderer.render(
            locale,
            {
                "name": user.name,
                "email": user.email,
                "set_password_url": set_password_url,
            },
        )
        rows.append(
            {
                "kind": INVITATION_TEMPLATE,
                "dedupe_key": None,
                "to_address": user.email,
                "locale": locale,
                "subject": subject,
                "body_text": text,
                "body_html": html,
                "next_attempt_at": now,
                "created_at": now,
            }
        )
    if rows:
        session.execute(insert(OutboxMessage), rows)
    return len(rows)


def _render_invitation(
    settings: Settings, locale: str, member: dict[str, str]
) -> tuple[str, str, str]:
    """``(subject, text, html)`` rendered as ``queue_email`` renders it: the same context."""
    context = {
        "base_url": settings.base_url,
        "city_name": settings.city_text("name", locale),
        "short_name": settings.city_text("short_name", locale),
        "city_contact": settings.city_text("contact", locale),
        "emergency_number": settings.emergency_number,
        **member,
        "days": INVITATION_DAYS,
        # Staff sign in only through the provider (PORTAL_SSO_STAFF_ONLY): the invitation
        # points at the provider's button instead of a password link.
        "sso_only": settings.sso_staff_only and settings.sso_enabled,
        "sso_label": settings.sso_label,
    }
    return render_message(INVITATION_TEMPLATE, locale=locale, context=context)


class _InvitationRenderer:
    """Renders the invitation once per language with stand-ins for the member's values (name,
    email, set_password_url), then fills each member's in: as they are in the subject and
    text, escaped as Jinja's autoescape does in the HTML. Rendering the three templates for
    each member took about half a millisecond: with 2,000 new members that doubled the time
    of the whole (bulk) import, 1 s to 2 s (benchmarks/city_import.py).

    The first member in each language is also rendered in full and compared: if a template
    ever does more with a value than print it (a filter, a test on it), the two differ and
    every member in that language is rendered in full, as before."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._forms: dict[str, tuple[str, str, str] | None] = {}
        tag = secrets.token_hex(8)
        self._slots = {
            f"zq{tag}{name.replace('_', '')}qz": name
            for name in ("name", "email", "set_password_url")
        }
        self._pattern = re.compile("|".join(self._slots))

    def render(self, locale: str, member: dict[str, str]) -> tuple[str, str, str]:
        if locale in self._forms:
            form = self._forms[locale]
            if form is not None:
                return self._fill(form, member)
            return _render_invitation(self._settings, locale, member)
        full = _render_invitation(self._settings, locale, member)
        form = _render_invitation(
            self._settings, locale, {name: slot for slot, name in self._slots.items()}
        )
        self._forms[locale] = form if self._fill(form, member) == full else None
        return full

    def _fill(self, form: tuple[str, str, str], member: dict[str, str]) -> tuple[str, str, str]:
        subject, text, html = form
        plain = {slot: member[name] for slot, name in self._slots.items()}
        escaped = {slot: str(escape(value)) for slot, value in plain.items()}
        subject = self._pattern.sub(lambda m: plain[m.group(0)], subject)
        return (
            " ".join(subject.split()),
            self._pattern.sub(lambda m: plain[m.group(0)], text),
            self._pattern.sub(lambda m: escaped[m.group(0)], html),
        )
