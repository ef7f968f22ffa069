"""Community programmes back office: coordinators and admins (any coordinator manages any
programme); agents, supervisors and residents are refused."""

from __future__ import annotations

from datetime import timedelta

from portal.auth.models import User
from portal.core import clock
from portal.programmes.models import (
    EligibilityQuestion,
    Enrolment,
    Programme,
    ProgrammeSession,
)
from tests.access import RouteCheck, made

COORDINATORS = frozenset({"coordinator", "admin"})
BASE = "/staff/programmes"


def _programme(world) -> Programme:
    now = clock.now()
    return made(
        world,
        "_programme",
        lambda w: Programme(
            title="Walk academy",
            status="closed",
            admission="application",
            capacity=5,
            taken=0,
            waiting=0,
            translations={},
            enrol_opens_at=now - timedelta(days=10),
            enrol_closes_at=now - timedelta(days=1),
        ),
    )


def _pid(world) -> int:
    return _programme(world).id


def _meeting(world, name: str) -> int:
    start = clock.now() + timedelta(days=7)
    return made(
        world,
        name,
        lambda w: ProgrammeSession(
            programme_id=_pid(w),
            title="First",
            starts_at=start,
            ends_at=start + timedelta(hours=2),
            place="City Hall",
            translations={},
        ),
    ).id


def _sid(world) -> int:
    return _meeting(world, "_programme_session")


def _question(world, name: str) -> int:
    return made(
        world,
        name,
        lambda w: EligibilityQuestion(
            programme_id=_pid(w),
            code=name.strip("_"),
            kind="yesno",
            prompt="Are you 18?",
            eligible_values=["yes"],
            translations={},
        ),
    ).id


CODES = {"approve": "APPRVE", "reject": "REJECT", "cancel": "CANCEL"}


def _applied(world, action: str) -> int:
    """An application of its own for each action, so every walk has one to decide."""

    def build(w):
        resident = made(
            w,
            f"_walker_{action}",
            lambda w2: User(email=f"walker-{action}@example.org", name="Walker", password_hash="x"),
        )
        return Enrolment(
            programme_id=_pid(w),
            user_id=resident.id,
            state="applied",
            check_in_code=CODES[action],
            queued_at=clock.now(),
        )

    return made(world, f"_enrolment_{action}", build).id


def _enrolment_url(action: str):
    return lambda w: f"{BASE}/{_pid(w)}/enrolments/{_applied(w, action)}/{action}"


def _programme_data(world) -> dict:
    return {
        "title": "Walk",
        "kind": "course",
        "topic": "civic",
        "admission": "first_come",
        "capacity": "10",
    }


def _session_data(world) -> dict:
    return {
        "session-day": "2031-05-06",
        "session-start": "18:00",
        "session-end": "20:00",
        "session-place": "Library",
    }


def _question_data(world) -> dict:
    return {
        "question-prompt": "Do you live in the city?",
        "question-kind": "yesno",
        "question-required": "y",
        "question-eligible_values": "yes",
    }


CHECKS = [
    RouteCheck("programmes_admin.index", lambda w: BASE, COORDINATORS),
    RouteCheck("programmes_admin.new", lambda w: f"{BASE}/new", COORDINATORS),
    RouteCheck(
        "programmes_admin.new",
        lambda w: f"{BASE}/new",
        COORDINATORS,
        method="POST",
        data=_programme_data,
    ),
    RouteCheck("programmes_admin.show", lambda w: f"{BASE}/{_pid(w)}", COORDINATORS),
    RouteCheck("programmes_admin.edit", lambda w: f"{BASE}/{_pid(w)}/edit", COORDINATORS),
    RouteCheck(
        "programmes_admin.edit",
        lambda w: f"{BASE}/{_pid(w)}/edit",
        COORDINATORS,
        method="POST",
        data=lambda w: {**_programme_data(w), "admission": "application"},
    ),
    RouteCheck(
        "programmes_admin.change_status",
        lambda w: f"{BASE}/{_pid(w)}/status",
        COORDINATORS,
        method="POST",
        data=lambda w: {"status": "open"},
    ),
    RouteCheck(
        "programmes_admin.capacity",
        lambda w: f"{BASE}/{_pid(w)}/capacity",
        COORDINATORS,
        method="POST",
        data=lambda w: {"capacity": "6"},
    ),
    RouteCheck(
        "programmes_admin.add_session",
        lambda w: f"{BASE}/{_pid(w)}/sessions",
        COORDINATORS,
        method="POST",
        data=_session_data,
    ),
    RouteCheck(
        "programmes_admin.edit_session",
        lambda w: f"{BASE}/{_pid(w)}/sessions/{_sid(w)}/edit",
        COORDINATORS,
    ),
    RouteCheck(
        "programmes_admin.edit_session",
        lambda w: f"{BASE}/{_pid(w)}/sessions/{_sid(w)}/edit",
        COORDINATORS,
        method="POST",
        data=_session_data,
    ),
    RouteCheck(
        "programmes_admin.delete_session",
        lambda w: f"{BASE}/{_pid(w)}/sessions/{_meeting(w, '_doomed_session')}/delete",
        COORDINATORS,
        method="POST",
        data=lambda w: {"confirm": "yes"},
    ),
    RouteCheck(
        "programmes_admin.add_question",
        lambda w: f"{BASE}/{_pid(w)}/questions",
        COORDINATORS,
        method="POST",
        data=_question_data,
    ),
    RouteCheck(
        "programmes_admin.edit_question",
        lambda w: f"{BASE}/{_pid(w)}/questions/{_question(w, '_adult')}/edit",
        COORDINATORS,
    ),
    RouteCheck(
        "programmes_admin.edit_question",
        lambda w: f"{BASE}/{_pid(w)}/questions/{_question(w, '_adult')}/edit",
        COORDINATORS,
        method="POST",
        data=_question_data,
    ),
    RouteCheck(
        "programmes_admin.delete_question",
        lambda w: f"{BASE}/{_pid(w)}/questions/{_question(w, '_doomed')}/delete",
        COORDINATORS,
        method="POST",
        data=lambda w: {"confirm": "yes"},
    ),
    RouteCheck("programmes_admin.message", lambda w: f"{BASE}/{_pid(w)}/message", COORDINATORS),
    RouteCheck(
        "programmes_admin.message",
        lambda w: f"{BASE}/{_pid(w)}/message",
        COORDINATORS,
        method="POST",
        data=lambda w: {"subject": "Room change", "body": "We meet in room 2."},
    ),
    RouteCheck("programmes_admin.copy", lambda w: f"{BASE}/{_pid(w)}/copy", COORDINATORS),
    RouteCheck(
        "programmes_admin.copy",
        lambda w: f"{BASE}/{_pid(w)}/copy",
        COORDINATORS,
        method="POST",
        data=lambda w: {"starts_on": "2031-05-06", "title": "Walk academy"},
    ),
    RouteCheck("programmes_admin.compare", lambda w: f"{BASE}/{_pid(w)}/cohorts", COORDINATORS),
    RouteCheck(
        "programmes_roster.roster", lambda w: f"{BASE}/{_pid(w)}/roster?state=applied", COORDINATORS
    ),
    RouteCheck(
        "programmes_roster.roster_csv", lambda w: f"{BASE}/{_pid(w)}/roster.csv", COORDINATORS
    ),
    RouteCheck("programmes_roster.approve", _enrolment_url("approve"), COORDINATORS, method="POST"),
    RouteCheck("programmes_roster.reject", _enrolment_url("reject"), COORDINATORS, method="POST"),
    RouteCheck("programmes_roster.cancel", _enrolment_url("cancel"), COORDINATORS, method="POST"),
    RouteCheck(
        "programmes_roster.attendance",
        lambda w: f"{BASE}/{_pid(w)}/sessions/{_sid(w)}/attendance",
        COORDINATORS,
    ),
    RouteCheck(
        "programmes_roster.attendance",
        lambda w: f"{BASE}/{_pid(w)}/sessions/{_sid(w)}/attendance",
        COORDINATORS,
        method="POST",
        data=lambda w: {"code": "NOSUCH"},
    ),
    RouteCheck(
        "programmes_roster.mark_all",
        lambda w: f"{BASE}/{_pid(w)}/sessions/{_sid(w)}/attendance/all",
        COORDINATORS,
        method="POST",
    ),
]
