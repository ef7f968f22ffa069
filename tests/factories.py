"""Factories for test data. Each returns a flushed model; defaults make a valid object."""

from __future__ import annotations

import itertools
from typing import Any

from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from portal.areas.models import Area
from portal.auth.models import User
from portal.catalogue.models import CategoryQuestion, Department, ServiceCategory, ServiceGroup
from portal.core import clock
from portal.core.config import Settings
from portal.requests.models import OPEN_STATUSES, Event, ServiceRequest

_seq = itertools.count(1)

#: A square around (41.0, -87.0), about 2.2 km a side.
SQUARE = [[-87.01, 40.99], [-86.99, 40.99], [-86.99, 41.01], [-87.01, 41.01], [-87.01, 40.99]]
INSIDE = (41.0, -87.0)  # lat, lon
OUTSIDE = (42.5, -80.0)
PASSWORD = "correct horse battery staple"
_HASH = generate_password_hash(PASSWORD)


class Factories:
    def __init__(self, session: Session, settings: Settings) -> None:
        self.session = session
        self.settings = settings

    def _add(self, obj: Any) -> Any:
        self.session.add(obj)
        self.session.flush()
        return obj

    def department(self, **kw: Any) -> Department:
        n = next(_seq)
        kw.setdefault("code", f"dept-{n}")
        kw.setdefault("name", f"Department {n}")
        kw.setdefault("translations", {"es": {"name": f"Departamento {n}"}})
        return self._add(Department(**kw))

    def group(self, **kw: Any) -> ServiceGroup:
        n = next(_seq)
        kw.setdefault("code", f"group-{n}")
        kw.setdefault("name", f"Group {n}")
        return self._add(ServiceGroup(**kw))

    def category(
        self, *, questions: list[dict[str, Any]] | None = None, **kw: Any
    ) -> ServiceCategory:
        n = next(_seq)
        kw.setdefault("code", f"cat-{n}")
        kw.setdefault("name", f"Category {n}")
        kw.setdefault("description", f"Problems of kind {n}")
        if "department" not in kw and "department_id" not in kw:
            kw["department"] = self.department()
        if "group" not in kw and "group_id" not in kw:
            kw["group"] = self.group()
        category = self._add(ServiceCategory(**kw))
        for position, spec in enumerate(questions or []):
            spec = dict(spec)
            spec.setdefault("prompt", spec["code"].replace("_", " ").capitalize())
            self._add(CategoryQuestion(category=category, position=position, **spec))
        self.session.refresh(category)
        return category

    def area(self, **kw: Any) -> Area:
        n = next(_seq)
        ring = kw.pop("ring", SQUARE)
        kw.setdefault("code", f"area-{n}")
        kw.setdefault("name", f"Area {n}")
        lons = [p[0] for p in ring]
        lats = [p[1] for p in ring]
        return self._add(
            Area(
                geometry={"type": "Polygon", "coordinates": [ring]},
                min_lat=min(lats),
                max_lat=max(lats),
                min_lon=min(lons),
                max_lon=max(lons),
                **kw,
            )
        )

    def user(self, **kw: Any) -> User:
        n = next(_seq)
        kw.setdefault("email", f"resident{n}@example.org")
        kw.setdefault("name", f"Resident {n}")
        kw.setdefault("password_hash", _HASH)
        return self._add(User(**kw))

    def request(self, **kw: Any) -> ServiceRequest:
        """A filed request written directly (for arranging state, not for testing filing)."""
        category = kw.pop("category", None) or self.category()
        kw.setdefault("description", "A deep pothole in the left lane")
        kw.setdefault("address", "100 Main Street")
        kw.setdefault("lat", INSIDE[0])
        kw.setdefault("lon", INSIDE[1])
        status = kw.pop("status", "new")
        sr = ServiceRequest(
            category=category,
            department_id=category.department_id,
            is_public=not (category.private or kw.get("private_by_reporter")),
            status=status,
            is_open=status in OPEN_STATUSES,
            **kw,
        )
        self._add(sr)
        sr.reference = f"{self.settings.reference_prefix}-{clock.now().year}-{sr.id:06d}"
        self._add(Event(request_id=sr.id, kind="submitted", public=True, actor_kind="resident"))
        return sr

    def event(self, request: ServiceRequest, kind: str = "comment", **kw: Any) -> Event:
        """A timeline event written directly (public, by staff when ``actor`` is given)."""
        actor = kw.pop("actor", None)
        kw.setdefault("public", True)
        kw.setdefault("body", f"Update {next(_seq)}")
        kw.setdefault("actor_kind", "staff" if actor is not None else "system")
        return self._add(
            Event(request_id=request.id, kind=kind, actor_id=actor.id if actor else None, **kw)
        )

    def photo(self, request: ServiceRequest, **kw: Any) -> Any:
        """A photo row of a filed request (no file is stored)."""
        from portal.requests.models import RequestPhoto

        kw.setdefault("storage_key", f"photo-{next(_seq)}")
        kw.setdefault("width", 640)
        kw.setdefault("height", 480)
        kw.setdefault("size_bytes", 1000)
        kw.setdefault("original_name", "photo.jpg")
        return self._add(RequestPhoto(request_id=request.id, **kw))

    def staff(self, *departments: Department, role: str = "agent", **kw: Any) -> User:
        """A staff member of ``departments`` with ``role`` there (and as their user role)."""
        from portal.staff.models import StaffMembership

        user = self.user(role=role, **kw)
        for department in departments:
            self.session.add(
                StaffMembership(user_id=user.id, department_id=department.id, role=role)
            )
        self.session.flush()
        return user

    def task(self, request: ServiceRequest, department: Department | None = None, **kw: Any) -> Any:
        """A task written directly; SLA columns (``due_at``, ``sla_stage``...) as given."""
        from portal.casework.models import OPEN_TASK_STATUSES, Task

        kw.setdefault("title", "Fix it")
        kw.setdefault("status", "open")
        kw.setdefault("is_open", kw["status"] in OPEN_TASK_STATUSES)
        kw.setdefault("created_at", clock.now())
        department_id = department.id if department else request.department_id
        return self._add(Task(request_id=request.id, department_id=department_id, **kw))

    def sla_clock(self, request: ServiceRequest, *, task: Any = None, **kw: Any) -> Any:
        """An SLA clock written directly (a task clock when ``task`` is given)."""
        from portal.sla.models import SlaClock

        kw.setdefault("kind", "resolution")
        kw.setdefault("target_seconds", 8 * 3600)
        kw.setdefault("started_at", clock.now())
        kw.setdefault("department_id", task.department_id if task else request.department_id)
        return self._add(SlaClock(request_id=request.id, task_id=task.id if task else None, **kw))

    # -- surveys (results tests build responses directly) ------------------------------------

    def survey_version(self, key: str = "request-resolved", version: int = 1) -> Any:
        """The ``SurveyVersion`` row of (key, version), made when missing."""
        from sqlalchemy import select

        from portal.surveys.models import SurveyVersion

        row = self.session.scalar(
            select(SurveyVersion).where(
                SurveyVersion.survey_key == key, SurveyVersion.version == version
            )
        )
        return row or self._add(
            SurveyVersion(survey_key=key, version=version, fingerprint="0" * 64, definition={})
        )

    def survey_invitation(
        self,
        request: ServiceRequest | None = None,
        *,
        survey_key: str = "request-resolved",
        **kw: Any,
    ) -> Any:
        """An invitation written directly (state "sent" unless given), with the case's
        department and category."""
        from datetime import timedelta

        from portal.surveys.models import SurveyInvitation

        n = next(_seq)
        now = kw.pop("created_at", None) or clock.now()
        kw.setdefault("state", "sent")
        kw.setdefault("email", f"surveyed{n}@example.org")
        kw.setdefault("send_after", now)
        kw.setdefault("sent_at", now if kw["state"] in ("sent", "answered") else None)
        kw.setdefault("expires_at", now + timedelta(days=14))
        kw.setdefault("token_hash", f"{n:064x}")
        if request is not None:
            kw.setdefault("department_id", request.department_id)
            kw.setdefault("category_id", request.category_id)
        version = self.survey_version(survey_key)
        return self._add(
            SurveyInvitation(
                survey_key=survey_key,
                survey_version_id=version.id,
                request_id=request.id if request is not None else None,
                created_at=now,
                **kw,
            )
        )

    def survey_response(
        self, invitation: Any = None, *, survey_key: str | None = None, **kw: Any
    ) -> Any:
        """A response written directly: measures (csat, ces, nps, resolved, comment...) as
        given; case, department and category from the invitation unless given."""
        from portal.surveys.models import SurveyResponse

        survey_key = survey_key or (
            invitation.survey_key if invitation is not None else "request-resolved"
        )
        version = self.survey_version(survey_key)
        if invitation is not None:
            kw.setdefault("request_id", invitation.request_id)
            kw.setdefault("department_id", invitation.department_id)
            kw.setdefault("category_id", invitation.category_id)
            kw.setdefault("invitation_id", invitation.id)
        kw.setdefault("created_at", clock.now())
        return self._add(
            SurveyResponse(
                survey_key=survey_key, survey_version_id=version.id, version=version.version, **kw
            )
        )

    # -- programmes (written directly, for arranging state) ----------------------------------

    def programme(
        self, *, sessions: int = 0, questions: list[dict[str, Any]] | None = None, **kw: Any
    ) -> Any:
        """A programme (status "open", enrolment window open now, 10 places unless given)
        with ``sessions`` weekly two-hour sessions starting a week from now, and eligibility
        ``questions`` (dicts of ``EligibilityQuestion`` fields; ``prompt`` defaults from
        ``code``)."""
        from datetime import timedelta

        from portal.programmes.models import EligibilityQuestion, Programme, ProgrammeSession

        n = next(_seq)
        now = clock.now()
        kw.setdefault("title", f"Programme {n}")
        kw.setdefault("summary", f"What programme {n} is about")
        kw.setdefault("description", f"Programme {n} meets weekly.")
        kw.setdefault("translations", {"es": {"title": f"Programa {n}"}})
        kw.setdefault("status", "open")
        kw.setdefault("capacity", 10)
        kw.setdefault("enrol_opens_at", now - timedelta(days=1))
        kw.setdefault("enrol_closes_at", now + timedelta(days=6))
        programme = self._add(Programme(**kw))
        first = now + timedelta(days=7)
        for number in range(sessions):
            start = first + timedelta(weeks=number)
            self._add(
                ProgrammeSession(
                    programme=programme,
                    title=f"Session {number + 1}",
                    starts_at=start,
                    ends_at=start + timedelta(hours=2),
                    place="City Hall, Room 101",
                )
            )
        if sessions:
            programme.starts_on = first.date()
            programme.ends_on = (first + timedelta(weeks=sessions - 1)).date()
        for position, spec in enumerate(questions or []):
            spec = dict(spec)
            spec.setdefault("prompt", spec["code"].replace("_", " ").capitalize())
            self._add(EligibilityQuestion(programme=programme, position=position, **spec))
        self.session.flush()
        self.session.refresh(programme)
        return programme

    def enrolment(self, programme: Any, user: User | None = None, **kw: Any) -> Any:
        """An enrolment written directly (state "enrolled" unless given); the programme's
        place and waitlist counters follow the state."""
        from portal.programmes.models import HOLDS_PLACE, Enrolment

        n = next(_seq)
        user = user or self.user()
        kw.setdefault("state", "enrolled")
        kw.setdefault("check_in_code", f"C{n:05d}"[-6:])
        kw.setdefault("queued_at", clock.now())
        if kw["state"] == "enrolled":
            kw.setdefault("enrolled_at", clock.now())
        if kw["state"] in HOLDS_PLACE:
            programme.taken += 1
        elif kw["state"] == "waitlisted":
            programme.waiting += 1
        return self._add(Enrolment(programme_id=programme.id, user_id=user.id, **kw))
