"""The case's own events, for features above requests to react to (see ``portal.core.hooks``).

Each is fired by the one function that makes the transition:

- ``case_filed``: ``portal.requests.service.submit_request``, once the request and its
  "submitted" entry are written (routing picks the department and opens the first task);
- ``case_status_changed``: ``portal.requests.updates._move`` — every status change of a case
  (acknowledged, waiting, resolved, closed, rejected, reopened...) after its timeline entry
  and before the reporter and followers are emailed; ``portal.casework.merging.merge_duplicate``
  fires it for the move to "duplicate";
- ``staff_replied``: a public message from staff (a reply, a question, a note with a status
  change): ``portal.requests.updates``;
- ``comment_posted``: a public comment on the timeline, by staff or the resident
  (``portal.requests.updates.post_comment``);
- ``resident_wrote``: the reporter answered a staff question or wrote to staff on an open case
  (``portal.requests.updates.resident_reply``: the tracking page and email replies alike).
"""

from __future__ import annotations

from dataclasses import dataclass

from portal.auth.models import User
from portal.core.config import Settings
from portal.core.hooks import Hook
from portal.requests.models import CLOSED_STATUSES, Event, ServiceRequest


@dataclass(frozen=True)
class CaseFiled:
    settings: Settings
    request: ServiceRequest


@dataclass(frozen=True)
class StatusChanged:
    settings: Settings
    request: ServiceRequest
    event: Event
    previous: str
    actor: User | None
    actor_kind: str

    @property
    def target(self) -> str:
        return self.request.status

    @property
    def reopened(self) -> bool:
        """A closed case (resolved, closed, rejected, duplicate) is open again."""
        return self.previous in CLOSED_STATUSES and self.request.is_open


@dataclass(frozen=True)
class StaffReplied:
    request: ServiceRequest


@dataclass(frozen=True)
class CommentPosted:
    settings: Settings
    request: ServiceRequest
    #: The new ``comment`` entry (``actor_kind`` says whether staff or the resident wrote it).
    event: Event


@dataclass(frozen=True)
class ResidentWrote:
    settings: Settings
    request: ServiceRequest
    #: The new timeline entry: an ``answer`` (to a question) or a ``comment``.
    event: Event


case_filed: Hook[CaseFiled] = Hook(
    "case_filed", "A request was filed (any channel); its department is not chosen yet."
)
case_status_changed: Hook[StatusChanged] = Hook(
    "case_status_changed", "A case moved from one status to another."
)
staff_replied: Hook[StaffReplied] = Hook(
    "staff_replied", "Staff wrote to the resident on the public timeline."
)
resident_wrote: Hook[ResidentWrote] = Hook(
    "resident_wrote", "The reporter answered a question or wrote to staff on an open case."
)
comment_posted: Hook[CommentPosted] = Hook(
    "comment_posted", "A public comment was added to a case's timeline (staff or resident)."
)
