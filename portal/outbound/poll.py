"""The worker's poll of outside Open311 endpoints for their tasks' status.

Each round, the open tasks filed at an endpoint that were not asked about for
``outbound_poll_seconds`` are asked about together: first each token still without an id
(``GET tokens/<token>.json``), then one ``GET requests.json?service_request_id=a,b,c`` per
endpoint (in batches of ``BATCH``). A request closed there completes the task here (the usual
task-done path: its clock stops, the case resolves when it was the last open task, the
resident is told), with its ``status_notes`` as the note; new notes on an open one become an
internal note. An endpoint that does not answer, or that the portal's destination policy
refuses (``portal.core.destinations``), is logged, its error kept on the tasks, and asked again
next time.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import requests
from sqlalchemy import or_, select

from portal.casework.models import Task
from portal.casework.tasks import complete_task_for_system
from portal.core.audit import AuditEntry
from portal.core.config import Settings
from portal.core.db import Database
from portal.core.destinations import RefusedDestination, pinned_session
from portal.outbound.config import api_key
from portal.outbound.models import OutboundTask
from portal.requests.events import add_event

log = logging.getLogger(__name__)

#: Ids per GET (the portal's own Open311 server takes up to 100).
BATCH = 50
#: Tasks asked about per round, all endpoints together.
ROUND_LIMIT = 1000
ERROR_LENGTH = 1000


@dataclass
class PollStats:
    asked: int = 0
    closed: int = 0
    updated: int = 0
    errors: int = 0

    def __str__(self) -> str:
        text = f"asked about {self.asked} task(s), {self.closed} closed, {self.updated} updated"
        return text + (f", {self.errors} endpoint error(s)" if self.errors else "")


@dataclass(frozen=True)
class _Due:
    id: int
    endpoint: str
    jurisdiction_id: str
    api_key_env: str
    token: str
    external_id: str


class _Unreachable(Exception):
    pass


def poll_outbound(
    db: Database,
    settings: Settings,
    now: datetime,
    *,
    environ: Mapping[str, str] | None = None,
) -> PollStats | None:
    """Ask each endpoint about its due tasks once; None when nothing was due."""
    due = _due(db, now - timedelta(seconds=settings.outbound_poll_seconds))
    if not due:
        return None
    stats = PollStats()
    by_endpoint: dict[str, list[_Due]] = defaultdict(list)
    for row in due:
        by_endpoint[row.endpoint].append(row)
    with pinned_session(settings.outbound_allowed_networks) as http:
        for endpoint, rows in by_endpoint.items():
            try:
                _poll_endpoint(db, settings, now, endpoint, rows, stats, environ=environ, http=http)
            except _Unreachable as exc:
                stats.errors += 1
                log.warning("outbound Open311 %s: %s", endpoint, exc)
                _mark(db, [r.id for r in rows], now=now, error=str(exc))
    return stats


def _due(db: Database, before: datetime) -> list[_Due]:
    with db.transaction() as session:
        rows = session.execute(
            select(
                OutboundTask.id,
                OutboundTask.endpoint,
                OutboundTask.jurisdiction_id,
                OutboundTask.api_key_env,
                OutboundTask.token,
                OutboundTask.external_id,
            )
            .join(Task, Task.id == OutboundTask.task_id)
            .where(
                OutboundTask.state == "filed",
                Task.is_open.is_(True),
                or_(OutboundTask.polled_at.is_(None), OutboundTask.polled_at <= before),
            )
            .order_by(OutboundTask.polled_at.is_not(None), OutboundTask.polled_at, OutboundTask.id)
            .limit(ROUND_LIMIT)
        )
        return [_Due(*row) for row in rows]


def _get(
    http: requests.Session, url: str, params: dict[str, str], settings: Settings
) -> requests.Response:
    try:
        return http.get(
            url,
            params=params,
            headers={"Accept": "application/json"},
            timeout=settings.outbound_timeout,
            allow_redirects=False,
        )
    except RefusedDestination as exc:
        raise _Unreachable(f"refused destination: {exc}") from exc
    except (requests.RequestException, OSError) as exc:
        raise _Unreachable(f"unreachable: {exc!r}") from exc


def _params(row: _Due, environ: Mapping[str, str] | None) -> dict[str, str]:
    params: dict[str, str] = {}
    if row.jurisdiction_id:
        params["jurisdiction_id"] = row.jurisdiction_id
    key = api_key(row.api_key_env, environ)
    if key:
        params["api_key"] = key  # private services' requests are read with the key
    return params


def _poll_endpoint(
    db: Database,
    settings: Settings,
    now: datetime,
    endpoint: str,
    rows: list[_Due],
    stats: PollStats,
    *,
    environ: Mapping[str, str] | None,
    http: requests.Session,
) -> None:
    base = endpoint.rstrip("/")
    params = _params(rows[0], environ)
    ids: dict[str, _Due] = {}
    for row in rows:
        if row.external_id:
            ids[row.external_id] = row
            continue
        response = _get(http, f"{base}/tokens/{row.token}.json", params, settings)
        found = _first(response)
        if found and found.get("service_request_id"):
            external_id = str(found["service_request_id"])[:120]
            with db.transaction() as session:
                link = session.get(OutboundTask, row.id)
                if link is not None:
                    link.external_id = external_id
            ids[external_id] = row
        else:
            _mark(db, [row.id], now=now, error="" if response.status_code == 404 else "token")
    keys = list(ids)
    for start in range(0, len(keys), BATCH):
        batch = keys[start : start + BATCH]
        response = _get(
            http,
            f"{base}/requests.json",
            {**params, "service_request_id": ",".join(batch)},
            settings,
        )
        if response.status_code != 200:
            raise _Unreachable(f"requests.json answered {response.status_code}")
        try:
            answer = response.json()
        except ValueError as exc:
            raise _Unreachable("requests.json answered without JSON") from exc
        seen = {
            str(item.get("service_request_id")): item
            for item in answer
            if isinstance(item, dict) and item.get("service_request_id")
        }
        stats.asked += len(batch)
        for external_id in batch:
            try:
                _apply(db, settings, now, ids[external_id].id, seen.get(external_id), stats)
            except Exception:  # one task's trouble must not stop the others
                log.exception("outbound Open311 %s: task %s", endpoint, external_id)
                stats.errors += 1


def _first(response: requests.Response) -> dict[str, Any] | None:
    if response.status_code != 200:
        return None
    try:
        body = response.json()
    except ValueError:
        return None
    if isinstance(body, list) and body and isinstance(body[0], dict):
        return body[0]
    return None


def _mark(db: Database, ids: list[int], *, now: datetime, error: str) -> None:
    with db.transaction() as session:
        for link in session.scalars(select(OutboundTask).where(OutboundTask.id.in_(ids))):
            link.polled_at = now
            link.last_error = error[:ERROR_LENGTH]


def _apply(
    db: Database,
    settings: Settings,
    now: datetime,
    link_id: int,
    item: dict[str, Any] | None,
    stats: PollStats,
) -> None:
    """One task's answer, in its own transaction (one bad task does not stop the others)."""
    with db.transaction() as session:
        link = session.get(OutboundTask, link_id)
        if link is None or link.state != "filed":
            return
        link.polled_at = now
        if item is None:
            link.last_error = "the endpoint did not list this request"
            return
        link.last_synced_at = now
        link.last_error = ""
        status = str(item.get("status") or "").lower()[:20]
        notes = str(item.get("status_notes") or "").strip()
        changed = notes != link.status_notes
        link.external_status = status
        link.status_notes = notes
        task = session.get(Task, link.task_id)
        if task is None or not task.is_open:
            return
        if status == "closed":
            link.state = "closed"
            complete_task_for_system(
                session, settings=settings, task=task, system=link.system, note=notes[:4000]
            )
            session.add(
                AuditEntry(
                    entity="outbound_task",
                    entity_id=str(link.task_id),
                    action="closed",
                    after={"system": link.system, "external_id": link.external_id},
                )
            )
            stats.closed += 1
        elif changed and notes:
            add_event(
                session,
                task.request,
                "internal_note",
                actor_kind="system",
                body=notes[:4000],
                data={"action": "task_external_update", "task_id": task.id, "system": link.system},
            )
            stats.updated += 1


def poll_job(db: Database, settings: Settings, now: datetime) -> PollStats | None:
    """The worker's periodic job (``portal.jobs``)."""
    return poll_outbound(db, settings, now)
