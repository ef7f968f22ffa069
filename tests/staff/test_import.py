"""`flask staff import FILE.csv`: checks the whole file first, then adds, updates and invites."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import event, func, select

from portal.auth.models import User
from portal.auth.service import _serializer, make_reset_token, user_for_reset_token
from portal.core import clock
from portal.core.audit import AuditEntry
from portal.core.mail import queue_email, render_message
from portal.core.outbox import OutboxMessage
from portal.core.senders import SmtpSender
from portal.core.worker import deliver_outbox
from portal.staff import importing, service
from portal.staff.cli import staff_cli
from portal.staff.models import StaffMembership
from tests.conftest import csrf_from
from tests.factories import PASSWORD
from tests.smtp import body_html, body_text

NEW_PASSWORD = "my very own passphrase"
HEADER = "email,name,role,departments\n"


@pytest.fixture
def city(make):
    """Three departments and two members already at work."""
    roads = make.department(code="roads", name="Roads")
    water = make.department(code="water", name="Water")
    streets = make.department(code="streets", name="Streets")
    kim = make.staff(roads, role="agent", email="kim@city.example", name="Kim Lee")
    zed = make.staff(water, role="agent", email="zed@city.example", name="Zed Not Listed")
    return {"roads": roads, "water": water, "streets": streets, "kim": kim, "zed": zed}


def _write(tmp_path: Path, content: str | bytes, name: str = "staff.csv") -> str:
    path = tmp_path / name
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    return str(path)


def _import(runner, path: str, *args: str):
    return runner.invoke(staff_cli, ["import", path, *args])


def _user(db, email: str) -> User | None:
    return db.scalar(
        select(User).where(User.email == email).execution_options(populate_existing=True)
    )


def _memberships(db, user: User) -> dict[int, str]:
    return dict(
        db.execute(
            select(StaffMembership.department_id, StaffMembership.role).where(
                StaffMembership.user_id == user.id
            )
        ).all()
    )


def _count(db, model) -> int:
    return db.scalar(select(func.count()).select_from(model))


def _state(db) -> tuple[int, int, int, int]:
    """Accounts, memberships, audit entries and queued emails: nothing written leaves it."""
    db.expire_all()
    return (
        _count(db, User),
        _count(db, StaffMembership),
        _count(db, AuditEntry),
        _count(db, OutboxMessage),
    )


def _invitations(db) -> list[OutboxMessage]:
    return list(
        db.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.kind == "staff_invitation")
            .order_by(OutboxMessage.id)
        )
    )


def _sign_in(client, email: str, password: str):
    page = client.get("/account/sign-in").get_data(as_text=True)
    return client.post(
        "/account/sign-in",
        data={"csrf_token": csrf_from(page), "email": email, "password": password},
    )


GOOD = (
    "\ufeffName, Email ,Departments,Role\r\n"  # a BOM, any order, any case and spaces
    '"Jones, Pat",Pat@City.Example,roads:supervisor;water:agent,supervisor\r\n'
    "\r\n"  # blank lines are skipped
    "Ada Admin,ada@city.example,,admin\r\n"
    "Kim Lee,KIM@city.example,roads:supervisor,Supervisor\r\n"  # a change
    "Lee Coordinator,lee@city.example,streets,coordinator\r\n"
)


# --- a good file -----------------------------------------------------------------------------


def test_a_good_file_adds_updates_and_invites_and_a_second_run_changes_nothing(
    runner, db, make, city, tmp_path
):
    lee = make.user(role="coordinator", email="lee@city.example", name="Lee Coordinator")
    db.add(StaffMembership(user_id=lee.id, department_id=city["streets"].id, role="agent"))
    db.flush()
    path = _write(tmp_path, GOOD)

    result = _import(runner, path)

    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == (
        "2 staff added (2 invitations queued), 1 changed, 1 unchanged."
    )
    assert "added: line 2: pat@city.example (supervisor; roads:supervisor, water:agent)" in (
        result.output
    )
    assert (
        "changed: line 5: kim@city.example: role: agent -> supervisor; "
        "departments: roads:agent -> roads:supervisor"
    ) in result.output

    pat = _user(db, "pat@city.example")
    assert pat is not None and pat.name == "Jones, Pat" and pat.role == "supervisor"
    assert pat.active
    assert _memberships(db, pat) == {city["roads"].id: "supervisor", city["water"].id: "agent"}
    ada = _user(db, "ada@city.example")
    assert ada is not None and ada.role == "admin" and _memberships(db, ada) == {}
    # No usable password until they choose one.
    assert _sign_in(runner.app.test_client(), "ada@city.example", PASSWORD).status_code == 200
    kim = _user(db, "kim@city.example")
    assert kim.role == "supervisor"
    assert _memberships(db, kim) == {city["roads"].id: "supervisor"}
    # Nobody missing from the file is removed or deactivated.
    zed = _user(db, "zed@city.example")
    assert zed.active and _memberships(db, zed) == {city["water"].id: "agent"}

    # The audit trail records each addition and change, by no one (the command line).
    entries = list(
        db.scalars(select(AuditEntry).where(AuditEntry.entity == "staff").order_by(AuditEntry.id))
    )
    assert [(e.entity_id, e.action, e.actor_id) for e in entries] == [
        (str(pat.id), "created", None),
        (str(ada.id), "created", None),
        (str(kim.id), "updated", None),
    ]
    assert entries[2].before["role"] == "agent" and entries[2].after["role"] == "supervisor"

    invitations = _invitations(db)
    assert [m.to_address for m in invitations] == ["pat@city.example", "ada@city.example"]
    assert invitations[0].subject == "Your Riverton 311 staff account"

    before = _state(db)
    again = _import(runner, path)
    assert again.exit_code == 0, again.output
    assert again.output == "0 staff added (0 invitations queued), 0 changed, 4 unchanged.\n"
    assert _state(db) == before


def test_a_dry_run_says_what_would_happen_and_writes_nothing(runner, db, city, tmp_path):
    path = _write(tmp_path, GOOD)
    before = _state(db)

    result = _import(runner, path, "--dry-run")

    assert result.exit_code == 0, result.output
    assert "would add: line 2: pat@city.example (supervisor; roads:supervisor, water:agent)" in (
        result.output
    )
    assert "would add: line 6: lee@city.example (coordinator; streets:agent)" in result.output
    assert "would change: line 5: kim@city.example: role: agent -> supervisor" in result.output
    assert result.output.splitlines()[-1] == (
        "Dry run, nothing written: 3 staff would be added (3 invitations), 1 changed, 0 unchanged."
    )
    assert _state(db) == before
    assert _user(db, "pat@city.example") is None


def test_a_name_change_alone_is_a_change(runner, db, city, tmp_path):
    path = _write(tmp_path, HEADER + "kim@city.example,Kimberly Lee,agent,roads\n")
    result = _import(runner, path)
    assert result.exit_code == 0, result.output
    assert 'changed: line 2: kim@city.example: name: "Kim Lee" -> "Kimberly Lee"' in (result.output)
    assert "0 staff added (0 invitations queued), 1 changed, 0 unchanged." in result.output
    assert _user(db, "kim@city.example").name == "Kimberly Lee"


def test_a_deactivated_member_is_updated_but_stays_deactivated(runner, db, city, tmp_path):
    service.deactivate(db, city["kim"], None)
    path = _write(tmp_path, HEADER + "kim@city.example,Kim Lee,agent,roads;water\n")
    result = _import(runner, path)
    assert result.exit_code == 0, result.output
    assert (
        "note: " + path + ": line 2: kim@city.example is deactivated, and stays so "
        "(flask staff reactivate kim@city.example)"
    ) in result.output
    kim = _user(db, "kim@city.example")
    assert not kim.active
    assert _memberships(db, kim) == {city["roads"].id: "agent", city["water"].id: "agent"}


# --- bad files -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            HEADER + "ok@city.example,Ok,agent,roads\nbob@city.example,Bob,agent,street\n",
            'staff.csv: line 3: department "street" does not exist (did you mean "streets"?)',
        ),
        (
            HEADER + "bob@city.example,Bob,agent,Roads\n",
            'staff.csv: line 2: department "Roads" does not exist (did you mean "roads"?)',
        ),
        (
            HEADER + "bob@city.example,Bob,agent,sewers\n",
            'staff.csv: line 2: department "sewers" does not exist\n',
        ),
        (
            HEADER + "ok@city.example,Ok,agent,roads\nbob@,Bob,agent,roads\n",
            'staff.csv: line 3: "bob@" is not an email address',
        ),
        (HEADER + ",Bob,agent,roads\n", "staff.csv: line 2: the email address is missing"),
        (
            HEADER + "bob@city.example,Bob,agent,roads\nok@city.example,Ok,agent,roads\n"
            "Bob@City.Example,Bob Again,agent,water\n",
            "staff.csv: line 4: bob@city.example is listed twice (also on line 2)",
        ),
        (
            "email,name,departments\nbob@city.example,Bob,roads\n",
            'staff.csv: line 1: missing column "role"',
        ),
        (
            "email,name,role,departments,phone\nbob@city.example,Bob,agent,roads,555\n",
            'staff.csv: line 1: unexpected column "phone"',
        ),
        (
            "email,role,departments,phone,office\n",
            'staff.csv: line 1: unexpected columns "phone", "office"',
        ),
        (
            "email,name,role,departments,\nbob@city.example,Bob,agent,roads,\n",
            'staff.csv: line 1: unexpected column "(no name)"',
        ),
        (
            "email,email,name,role,departments\n",
            'staff.csv: line 1: the column "email" appears more than once',
        ),
        (
            HEADER.encode() + "bob@city.example,Jos\xe9,agent,roads\n".encode("latin-1"),
            "staff.csv: is not UTF-8 text (byte 0xe9 at line 2)",
        ),
        (b"", "staff.csv: is empty"),
        (b"\xef\xbb\xbf \r\n", "staff.csv: is empty"),
        (b",,,\r\n,,\r\n", "staff.csv: is empty"),
        (HEADER, "staff.csv: has a header but no staff rows"),
        (
            HEADER + "bob@city.example,Bob,boss,roads\n",
            'staff.csv: line 2: role "boss" is not one of agent, supervisor, coordinator, admin',
        ),
        (HEADER + "bob@city.example,Bob,,roads\n", "staff.csv: line 2: the role is missing"),
        (HEADER + "bob@city.example,,agent,roads\n", "staff.csv: line 2: the name is missing"),
        (
            HEADER + f"bob@city.example,{'x' * 121},agent,roads\n",
            "staff.csv: line 2: the name is longer than 120 characters",
        ),
        (
            HEADER + "bob@city.example,Bob,agent,\n",
            "staff.csv: line 2: an agent needs at least one department",
        ),
        (
            HEADER + "bob@city.example,Bob,supervisor, ; \n",
            "staff.csv: line 2: a supervisor needs at least one department",
        ),
        (
            HEADER + "bob@city.example,Bob,agent,roads:supervisor\n",
            'staff.csv: line 2: an agent cannot supervise a department ("roads:supervisor")',
        ),
        (
            HEADER + "bob@city.example,Bob,supervisor,roads:agent\n",
            "staff.csv: line 2: a supervisor must supervise at least one department",
        ),
        (
            HEADER + "bob@city.example,Bob,agent,roads:boss\n",
            'staff.csv: line 2: "roads:boss": the role in a department is agent or supervisor',
        ),
        (
            HEADER + "bob@city.example,Bob,agent,roads;roads:agent\n",
            'staff.csv: line 2: department "roads" is listed twice',
        ),
        (
            HEADER + "bob@city.example,Bob,agent,:agent\n",
            'staff.csv: line 2: ":agent" names no department',
        ),
        (
            HEADER + "bob@city.example,Bob, Jones,agent,roads\n",
            "staff.csv: line 2: has 5 values where the header has 4",
        ),
    ],
)
def test_a_bad_file_is_refused_with_its_line_and_nothing_is_written(
    runner, db, city, tmp_path, monkeypatch, content, message
):
    _write(tmp_path, content)
    monkeypatch.chdir(tmp_path)  # so the file is named as the user typed it
    before = _state(db)

    result = _import(runner, "staff.csv")

    assert result.exit_code == 1, result.output
    assert message in result.output
    assert "nothing was imported" in result.output
    assert _state(db) == before
    assert _user(db, "ok@city.example") is None


def test_every_problem_is_reported_at_once_in_line_order(runner, db, city, tmp_path, monkeypatch):
    _write(
        tmp_path,
        HEADER
        + "bob@,Bob,agent,street\n"
        + "ok@city.example,Ok,agent,roads\n"
        + "kim@city.example,Kim,king,roads\n"
        + "ok@city.example,Ok,agent,roads:boss\n",
    )
    monkeypatch.chdir(tmp_path)
    before = _state(db)

    result = _import(runner, "staff.csv")

    assert result.exit_code == 1
    problems = [line for line in result.output.splitlines() if line.startswith("staff.csv:")]
    assert [p.split(":")[1] for p in problems] == [" line 2"] * 2 + [" line 4"] + [" line 5"] * 2
    assert problems[0].startswith('staff.csv: line 2: "bob@" is not an email address')
    assert problems[1] == (
        'staff.csv: line 2: department "street" does not exist (did you mean "streets"?)'
    )
    assert problems[2].startswith('staff.csv: line 4: role "king" is not one of')
    assert "Error: 5 problems in staff.csv: nothing was imported." in result.output
    assert _state(db) == before
    assert _user(db, "kim@city.example").role == "agent"


def test_a_residents_address_is_refused(runner, db, make, city, tmp_path, monkeypatch):
    resident = make.user(email="res@example.org", name="Ria Resident")
    _write(
        tmp_path,
        HEADER + "ok@city.example,Ok,agent,roads\nRes@Example.org,Ria Resident,agent,roads\n",
    )
    monkeypatch.chdir(tmp_path)
    before = _state(db)

    result = _import(runner, "staff.csv")

    assert result.exit_code == 1
    assert (
        "staff.csv: line 3: res@example.org belongs to a resident's account: the import "
        "never turns a resident into staff"
    ) in result.output
    assert _state(db) == before
    assert _user(db, "res@example.org").role == "resident"
    assert _memberships(db, resident) == {}


# --- the invitation --------------------------------------------------------------------------


def test_the_emailed_link_lets_the_new_colleague_choose_a_password_and_sign_in(
    app, runner, db, city, settings, smtp, tmp_path
):
    result = _import(runner, _write(tmp_path, HEADER + "pat@city.example,Pat Jones,agent,roads\n"))
    assert result.exit_code == 0, result.output
    client = app.test_client()
    assert _sign_in(client, "pat@city.example", NEW_PASSWORD).status_code == 200  # refused

    stats = deliver_outbox(
        app.extensions["portal.db"], SmtpSender(settings), now=clock.now(), max_attempts=3
    )
    assert stats.sent == 1
    smtp.wait_for(1)
    [mail] = smtp.to("pat@city.example")
    assert mail["Subject"] == "Your Riverton 311 staff account"
    text = body_text(mail)
    assert "Hello Pat Jones," in text
    assert "You sign in with your email address, pat@city.example." in text
    assert "The link works once, for 7 days." in text
    match = re.search(r"http://portal\.test(/account/reset/\S+)", text)
    assert match, text
    link = match.group(1)
    assert link in body_html(mail)

    page = client.get(link)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    response = client.post(
        link,
        data={"csrf_token": csrf_from(html), "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/account/sign-in"

    assert _sign_in(client, "pat@city.example", NEW_PASSWORD).status_code == 302
    assert client.get("/staff/notices").status_code == 200
    assert client.get(link).status_code == 400  # used once


def test_the_invitation_link_lasts_seven_days(app, runner, db, city, tmp_path):
    start = clock.now()
    try:
        clock.freeze(start)
        result = _import(runner, _write(tmp_path, HEADER + "pat@city.example,Pat,admin,\n"))
        assert result.exit_code == 0, result.output
        [message] = _invitations(db)
        link = re.search(r"http://portal\.test(/account/reset/\S+)", message.body_text).group(1)
        client = app.test_client()
        clock.freeze(start + timedelta(days=6, hours=23))
        assert client.get(link).status_code == 200
        clock.freeze(start + timedelta(days=7, minutes=1))
        response = client.get(link)
        assert response.status_code == 400
        assert "This link has expired" in response.get_data(as_text=True)
    finally:
        clock.freeze(None)


def test_the_invitation_is_translated_into_spanish():
    context = {
        "base_url": "http://portal.test",
        "city_name": "Riverton",
        "short_name": "Riverton 311",
        "emergency_number": "911",
        "name": "Ana",
        "email": "ana@city.example",
        "set_password_url": "http://portal.test/x",
        "days": 7,
    }
    subject, text, html = render_message("staff_invitation", locale="es", context=context)
    assert subject == "Su cuenta de personal de Riverton 311"
    assert "El enlace funciona una sola vez, durante 7 días." in text
    assert "Elija su contraseña" in html
    assert "http://portal.test/x" in html


# --- scale -----------------------------------------------------------------------------------


def test_a_large_file_is_checked_with_a_few_queries_and_hashes_once(
    app, runner, db, make, city, tmp_path, monkeypatch
):
    monkeypatch.setattr(importing, "CHUNK", 50)  # as with 500 to a chunk and 2,000 rows
    rows = [f"member{n}@city.example,Member {n},agent,roads" for n in range(120)]
    for n in range(0, 120, 10):  # some already work here, unchanged
        make.staff(city["roads"], role="agent", email=f"member{n}@city.example", name=f"Member {n}")
    path = _write(tmp_path, HEADER + "\n".join(rows) + "\n")

    statements: list[str] = []
    engine = app.extensions["portal.db"].engine

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    app.extensions["portal.city"].settings()  # the command reads the city's profile (cached)
    event.listen(engine, "before_cursor_execute", count)
    try:
        dry = _import(runner, path, "--dry-run")
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert dry.exit_code == 0, dry.output
    assert "108 staff would be added (108 invitations), 0 changed, 12 unchanged." in dry.output
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    # The departments, then the accounts (3 chunks) and their memberships (1 chunk).
    assert len(selects) <= 5, selects

    hashes = []
    real_hash = service.generate_password_hash
    monkeypatch.setattr(
        service, "generate_password_hash", lambda password: hashes.append(1) or real_hash(password)
    )
    result = _import(runner, path)
    assert result.exit_code == 0, result.output
    assert "108 staff added (108 invitations queued), 0 changed, 12 unchanged." in result.output
    assert len(hashes) == 1
    assert len(_invitations(db)) == 108


def _statements_to_import(app, runner, path: str) -> list[str]:
    statements: list[str] = []
    engine = app.extensions["portal.db"].engine

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    app.extensions["portal.city"].settings()  # read once and cached, not the import's
    event.listen(engine, "before_cursor_execute", count)
    try:
        result = _import(runner, path)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert result.exit_code == 0, result.output
    return statements


def test_new_members_are_written_with_a_few_statements_however_many_there_are(
    app, runner, db, city, tmp_path
):
    def members(prefix: str, count: int) -> str:
        return HEADER + "".join(
            f"{prefix}{n}@city.example,Member {n},{'supervisor' if n % 7 == 0 else 'agent'},"
            f"{'roads;water:agent' if n % 7 == 0 else 'roads;streets'}\n"
            for n in range(count)
        )

    fifty = _statements_to_import(app, runner, _write(tmp_path, members("a", 50), "a.csv"))
    hundred_fifty = _statements_to_import(app, runner, _write(tmp_path, members("b", 150), "b.csv"))

    assert abs(len(hundred_fifty) - len(fifty)) <= 3, (fifty, hundred_fifty)
    assert len(hundred_fifty) <= 25, hundred_fifty
    assert _count(db, User) == 2 + 200
    assert len(_invitations(db)) == 200
    assert (
        db.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.entity == "staff", AuditEntry.action == "created")
        )
        == 200
    )


#: New members whose rows are compared: departments listed out of code order, no department,
#: and a name and an address the HTML escapes.
NEW = (
    HEADER
    + "pat@city.example,Pat Jones,supervisor,water:agent;roads:supervisor;streets:agent\n"
    + "ada@city.example,Ada Admin,admin,\n"
    + "o'brien@city.example,\"Zoë O'Brien & <Sons>\",coordinator,streets\n"
    + "kim@city.example,Kim Lee,agent,roads\n"
)  # unchanged


def _written(db, settings, emails: list[str]) -> dict:
    """What was written for the accounts ``emails``, without ids (rows point at addresses)
    and with each invitation's link token checked, then left out."""
    db.expire_all()
    users = {
        row.id: row for row in db.execute(select(User.__table__).where(User.email.in_(emails)))
    }
    email_of = {id_: row.email for id_, row in users.items()}
    accounts = sorted(
        ({k: v for k, v in row._mapping.items() if k != "id"} for row in users.values()),
        key=lambda a: a["email"],
    )
    memberships = sorted(
        (email_of[row.user_id], row.department_id, row.role, row.created_at)
        for row in db.execute(
            select(StaffMembership.__table__).where(StaffMembership.user_id.in_(email_of))
        )
    )
    audit = [
        (
            e.actor_id,
            e.entity,
            email_of[int(e.entity_id)],
            e.action,
            e.before,
            e.after,
            e.created_at,
        )
        for e in db.scalars(
            select(AuditEntry)
            .where(AuditEntry.entity == "staff", AuditEntry.entity_id.in_([str(i) for i in users]))
            .order_by(AuditEntry.id)
        )
    ]
    messages = []
    for message in db.scalars(
        select(OutboxMessage).where(OutboxMessage.to_address.in_(emails)).order_by(OutboxMessage.id)
    ):
        token = re.search(r"/account/reset/(\S+)", message.body_text).group(1)
        assert user_for_reset_token(db, token, settings).email == message.to_address
        assert _serializer(settings).loads(token)["a"] == 7 * 24 * 3600
        assert token in message.body_html
        row = {
            c.key: getattr(message, c.key) for c in OutboxMessage.__table__.columns if c.key != "id"
        }
        row["body_text"] = row["body_text"].replace(token, "<token>")
        row["body_html"] = row["body_html"].replace(token, "<token>")
        messages.append(row)
    return {"accounts": accounts, "memberships": memberships, "audit": audit, "outbox": messages}


def _one_at_a_time(db, settings, plan: importing.Plan, password_hash: str) -> None:
    """How the import wrote each new member before it wrote them in bulk."""
    for entry in plan.added:
        user = service.create_staff(
            db,
            email=entry.email,
            name=entry.name,
            role=entry.role,
            memberships=list(entry.memberships.items()),
            password_hash=password_hash,
        )
        token = make_reset_token(settings, user, max_age=importing.INVITATION_DAYS * 24 * 3600)
        locale = user.locale if user.locale in settings.languages else "en"
        queue_email(
            db,
            settings=settings,
            to=user.email,
            template="staff_invitation",
            locale=locale,
            context={
                "name": user.name,
                "email": user.email,
                "set_password_url": f"{settings.base_url}/account/reset/{token}",
                "days": importing.INVITATION_DAYS,
            },
        )


def test_new_members_get_the_rows_creating_them_one_at_a_time_wrote(
    app, db, city, freeze_clock, monkeypatch
):
    freeze_clock(clock.now().replace(microsecond=0))
    settings = app.extensions["portal.city"].settings()
    password_hash = service.unusable_password_hash()
    monkeypatch.setattr(service, "unusable_password_hash", lambda: password_hash)
    plan = importing.plan_import(db, NEW.encode())
    assert not plan.problems and [e.email for e in plan.added] == [
        "pat@city.example",
        "ada@city.example",
        "o'brien@city.example",
    ]
    emails = [e.email for e in plan.added]

    bulk = db.begin_nested()
    outcome = importing.apply_plan(db, plan, settings=settings)
    assert (outcome.added, outcome.invited, outcome.unchanged) == (3, 3, 1)
    in_bulk = _written(db, settings, emails)
    bulk.rollback()
    assert _written(db, settings, emails)["accounts"] == []

    _one_at_a_time(db, settings, plan, password_hash)
    one_by_one = _written(db, settings, emails)

    assert in_bulk == one_by_one
    # What is compared: the audit trail's shape, and a message that escapes the name.
    assert in_bulk["audit"][0][1:6] == (
        "staff",
        "pat@city.example",
        "created",
        {},
        {
            "email": "pat@city.example",
            "name": "Pat Jones",
            "role": "supervisor",
            "active": True,
            "departments": {"roads": "supervisor", "streets": "agent", "water": "agent"},
        },
    )
    # Stored in the same order too (JSON text on SQLite; JSONB orders keys its own way).
    assert [list(a[5]["departments"]) for a in in_bulk["audit"]] == [
        list(a[5]["departments"]) for a in one_by_one["audit"]
    ]
    html = in_bulk["outbox"][2]["body_html"]
    assert "Zoë O&#39;Brien &amp; &lt;Sons&gt;" in html and "o&#39;brien@city.example" in html
    assert "Hello Zoë O'Brien & <Sons>," in in_bulk["outbox"][2]["body_text"]
    assert len(in_bulk["outbox"]) == 3 and in_bulk["outbox"][0]["dedupe_key"] is None


def test_an_invitation_template_that_does_more_than_print_a_value_is_rendered_in_full(
    app, runner, db, city, tmp_path, monkeypatch
):
    """The stand-ins are checked against the first member: a template that shouts the name
    (a filter the stand-in cannot follow) gets every member rendered in full."""

    def shouting(name, *, locale, context):
        return render_message(
            name, locale=locale, context=dict(context, name=context["name"].upper())
        )

    monkeypatch.setattr(importing, "render_message", shouting)
    result = _import(
        runner,
        _write(
            tmp_path,
            HEADER + "pat@city.example,Pat Jones,admin,\nada@city.example,Ada Admin,admin,\n",
        ),
    )
    assert result.exit_code == 0, result.output
    assert ["Hello PAT JONES," in m.body_text for m in _invitations(db)] == [True, False]
    assert "Hello ADA ADMIN," in _invitations(db)[1].body_text


def test_an_account_created_since_the_plan_was_made_stops_the_import(app, db, make, city):
    plan = importing.plan_import(db, NEW.encode())
    make.staff(city["roads"], email="ada@city.example", name="Ada, Quicker")
    before = _state(db)
    with pytest.raises(service.EmailTaken, match="ada@city.example"):
        importing.apply_plan(db, plan, settings=app.extensions["portal.city"].settings())
    assert _state(db) == before


@pytest.mark.parametrize(
    ("members", "error"),
    [
        (
            [service.NewStaff("a@city.example", "A", "agent", [(10**6, "agent")])],
            service.UnknownDepartment,
        ),
        ([service.NewStaff("a@city.example", "A", "agent", [])], service.MembershipRequired),
        ([service.NewStaff("a@city.example", "A", "boss", [])], service.InvalidRole),
        (
            [
                service.NewStaff("a@city.example", "A", "admin", []),
                service.NewStaff("A@City.example", "A again", "admin", []),
            ],
            service.EmailTaken,
        ),
    ],
)
def test_creating_many_checks_every_member_before_writing(db, city, members, error):
    before = _state(db)
    with pytest.raises(error):
        service.create_staff_many(db, members, password_hash="x")
    assert _state(db) == before
