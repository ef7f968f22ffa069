"""Reading and checking a staff CSV file for ``flask staff import`` (``portal.staff.importing``
describes the file): decoding it, its header, and each row's address, name, role and department
memberships, resolved against the departments given. Every problem is collected with its line;
accounts are not looked at here, and nothing touches the database.
"""

from __future__ import annotations

import csv
import difflib
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email

from portal.auth.service import normalise_email
from portal.staff import service
from portal.staff.models import DEPARTMENT_ROLES, STAFF_ROLES

COLUMNS = ("email", "name", "role", "departments")
EMAIL_MAX = 254
NAME_MAX = 120

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
class _Row:
    line: int
    email: str  # normalised; "" when missing or not an address
    name: str
    role: str  # "" when not a staff role
    #: (department id, department role); None when a membership could not be resolved.
    memberships: list[tuple[int, str]] | None


def decode(data: bytes) -> tuple[str | None, Problem | None]:
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


def read_rows(text: str, departments: dict[str, int]) -> tuple[list[_Row], list[Problem]]:
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
