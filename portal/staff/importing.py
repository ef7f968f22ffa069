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

No Flask here; nothing commits (the command does, once).
"""

from __future__ import annotations

import csv
import difflib
import io
import re
import secrets
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from email_validator import EmailNotValidError, validate_email
from markupsafe import escape
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from portal.auth.models import User
from portal.auth.service import make_reset_token, normalise_email
from portal.catalogue.models import Department
from portal.core import clock
from portal.core.config import Settings
from portal.core.outbox import OutboxMessage
from portal.notifications.render import render_message
from portal.staff import service
from portal.staff.models import DEPARTMENT_ROLES, STAFF_ROLES, StaffMembership

COLUMNS = ("email", "name", "role", "departments")
INVITATION_DAYS = 7
INVITATION_TEMPLATE = "staff_invitation"
EMAIL_MAX = 254
NAME_MAX = 120
#: Addresses (and account ids) per ``IN (...)`` look-up.
CHUNK = 500

_ARTICLE = {"agent": "an agent", "supervisor": "a supervisor"}


@dataclass(frozen=True)
class Problem:
    """Something wrong with the file; ``line`` is None when it concerns the whole file."""

    line: int | None
    message: str

    def describe(self, source: str) -> str:
        if self.line is None:
            return f"{source}: {self.message}"
        return f"{source}: line {self.line}: {self.message}"


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


# --- reading the file ------------------------------------------------------------------------


@dataclass
class _Row:
    line: int
    email: str  # normalised; "" when missing or not an address
    name: str
    role: str  # "" when not a staff role
    #: (department id, department role); None when a membership could not be resolved.
    memberships: list[tuple[int, str]] | None


def _decode(data: bytes) -> tuple[str | None, Problem | None]:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return None, Problem(
            None,
            f"is not UTF-8 text (byte 0x{data[exc.start]:02x} at line "
            f'{line}); save it from the spreadsheet as "CSV UTF-8"',
        )
    if not text.strip():
        return None, Problem(
            None,
            "is empty: it needs a header row (" + ",".join(COLUMNS) + ") and a row for each member",
        )
    return text, None


def _records(text: str) -> Iterator[tuple[int, list[str]]]:
    """``(first line, fields)`` of each non-blank record (a quoted value may span lines)."""
    reader = csv.reader(io.StringIO(text, newline=""))
    line = 1
    for record in reader:
        if any(value.strip() for value in record):
            yield line, record
        line = reader.line_num + 1


def _quoted(names: Sequence[str]) -> str:
    return ", ".join(f'"{n}"' for n in names)


def _header_problems(names: list[str]) -> list[str]:
    problems = []
    unknown = [n or "(no name)" for n in names if n not in COLUMNS]
    if unknown:
        noun = "column" if len(unknown) == 1 else "columns"
        problems.append(
            f"unexpected {noun} {_quoted(unknown)} (the columns are "
            f"{', '.join(COLUMNS)}, and no others)"
        )
    missing = [c for c in COLUMNS if c not in names]
    if missing:
        noun = "column" if len(missing) == 1 else "columns"
        problems.append(f"missing {noun} {_quoted(missing)} (the columns are {', '.join(COLUMNS)})")
    twice = sorted({n for n in names if n in COLUMNS and names.count(n) > 1})
    for name in twice:
        problems.append(f'the column "{name}" appears more than once')
    return problems


def _email_problem(raw: str) -> str | None:
    if not raw:
        return "the email address is missing"
    if len(raw) > EMAIL_MAX:
        return f"the email address is longer than {EMAIL_MAX} characters"
    try:
        validate_email(raw, check_deliverability=False)
    except EmailNotValidError as exc:
        reason = str(exc).rstrip(".")
        return f'"{raw}" is not an email address ({reason[:1].lower()}{reason[1:]})'
    return None


def _department_problem(code: str, departments: dict[str, int]) -> str:
    close = difflib.get_close_matches(code, list(departments), n=1)
    if not close:  # a different case is close too ("Roads" for "roads")
        lowered = {c.lower(): c for c in departments}
        close = [lowered[m] for m in difflib.get_close_matches(code.lower(), list(lowered), n=1)]
    hint = f' (did you mean "{close[0]}"?)' if close else ""
    return f'department "{code}" does not exist{hint}'


def _memberships(
    line: int, role: str, spec: str, departments: dict[str, int], problems: list[Problem]
) -> list[tuple[int, str]] | None:
    """Resolve ``CODE[:role];...``; None (with the problems noted) when something is wrong."""
    default = service.default_department_role(role) if role else None
    resolved: list[tuple[int, str]] = []
    seen: set[str] = set()
    ok = True
    for part in (p.strip() for p in spec.split(";")):
        if not part:
            continue
        code, _, department_role = (s.strip() for s in part.partition(":"))
        department_role = department_role.lower() or (default or "")
        if not code:
            problems.append(
                Problem(
                    line,
                    f'"{part}" names no department (write CODE or CODE:agent or CODE:supervisor)',
                )
            )
            ok = False
            continue
        if code in seen:
            problems.append(Problem(line, f'department "{code}" is listed twice'))
            ok = False
        seen.add(code)
        if department_role and department_role not in DEPARTMENT_ROLES:
            problems.append(
                Problem(
                    line,
                    f'"{part}": the role in a department is agent or '
                    f'supervisor, not "{department_role}"',
                )
            )
            ok = False
        if code not in departments:
            problems.append(Problem(line, _department_problem(code, departments)))
            ok = False
        elif department_role:
            resolved.append((departments[code], department_role))
    if not ok or not role:
        return None
    try:
        service.check_membership_rules(role, [r for _, r in resolved])
    except service.MembershipRequired:
        problems.append(Problem(line, f"{_ARTICLE[role]} needs at least one department"))
        return None
    except service.RoleMismatch:
        if role == "agent":
            supervised = [p for p in spec.split(";") if p.strip().lower().endswith(":supervisor")]
            problems.append(
                Problem(
                    line,
                    f"an agent cannot supervise a department "
                    f"({_quoted([p.strip() for p in supervised])}): "
                    "make them a supervisor, or write CODE:agent",
                )
            )
        else:
            problems.append(
                Problem(
                    line,
                    "a supervisor must supervise at least one department (write CODE:supervisor)",
                )
            )
        return None
    return resolved


def _row(
    line: int,
    values: dict[str, str],
    departments: dict[str, int],
    first_line: dict[str, int],
    problems: list[Problem],
) -> _Row:
    email = ""
    problem = _email_problem(values["email"])
    if problem is not None:
        problems.append(Problem(line, problem))
    else:
        email = normalise_email(values["email"])
        if email in first_line:
            problems.append(
                Problem(line, f"{email} is listed twice (also on line {first_line[email]})")
            )
        else:
            first_line[email] = line
    name = values["name"]
    if not name:
        problems.append(Problem(line, "the name is missing"))
    elif len(name) > NAME_MAX:
        problems.append(Problem(line, f"the name is longer than {NAME_MAX} characters"))
    role = values["role"].lower()
    if not role:
        problems.append(Problem(line, f"the role is missing (one of {', '.join(STAFF_ROLES)})"))
    elif role not in STAFF_ROLES:
        problems.append(
            Problem(line, f'role "{values["role"]}" is not one of {", ".join(STAFF_ROLES)}')
        )
        role = ""
    memberships = _memberships(line, role, values["departments"], departments, problems)
    return _Row(line=line, email=email, name=name, role=role, memberships=memberships)


def _read(text: str, departments: dict[str, int]) -> tuple[list[_Row], list[Problem]]:
    """The rows of the file, and every problem found without looking at accounts."""
    rows: list[_Row] = []
    records = _records(text)
    try:
        header_line, header = next(records)
    except StopIteration:  # only separators, like ",,,"
        return [], [
            Problem(
                None,
                "is empty: it needs a header row ("
                + ",".join(COLUMNS)
                + ") and a row for each member",
            )
        ]
    except csv.Error as exc:
        return [], [Problem(1, f"cannot be read as CSV ({exc})")]
    names = [n.strip().lower() for n in header]
    problems = [Problem(header_line, message) for message in _header_problems(names)]
    if problems:
        return [], problems
    first_line: dict[str, int] = {}
    try:
        for line, record in records:
            if len(record) != len(names):
                problems.append(
                    Problem(
                        line,
                        f"has {len(record)} values where the header has "
                        f"{len(names)} (a value with a comma in it goes "
                        "in double quotes)",
                    )
                )
                continue
            values = {n: v.strip() for n, v in zip(names, record, strict=True)}
            rows.append(_row(line, values, departments, first_line, problems))
    except csv.Error as exc:
        after = rows[-1].line if rows else header_line
        problems.append(Problem(None, f"cannot be read as CSV after line {after} ({exc})"))
    if not rows and not problems:
        problems.append(Problem(None, "has a header but no staff rows"))
    return rows, problems


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
    text, problem = _decode(data)
    if problem is not None or text is None:
        plan.problems.append(problem or Problem(None, "is empty"))
        return plan
    departments: dict[str, int] = {
        code: id_ for code, id_ in session.execute(select(Department.code, Department.id))
    }
    plan.codes = {i: c for c, i in departments.items()}
    rows, problems = _read(text, departments)
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
        token = make_reset_token(settings, user, max_age=INVITATION_DAYS * 24 * 3600)
        locale = user.locale if user.locale in settings.languages else "en"
        subject, text, html = renderer.render(
            locale,
            {
                "name": user.name,
                "email": user.email,
                "set_password_url": f"{settings.base_url}/account/reset/{token}",
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
