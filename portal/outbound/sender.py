"""The worker's sender for outbox messages of channel "open311": posts a task to the outside
Open311 endpoint (``POST requests.json``, form-encoded, with an ``Idempotency-Key`` kept for
the task, so a retry after a lost answer files it once) and records what came back.

2xx: filed (its ``service_request_id``, or a ``token`` the poll resolves later). No answer,
429 and 5xx: temporary (the outbox retries with its backoff). Another 4xx (an unknown service
code, a refused key), or a destination the portal's policy refuses (``portal.core.destinations``:
a private address outside ``PORTAL_OUTBOUND_ALLOWED_NETWORKS``, plain http to the internet;
the connection goes only to an address it checked): permanent. A permanent error, or the
outbox's last attempt, flags the task for staff (``OutboundTask.state == "failed"``) rather
than losing it.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping

import requests
from sqlalchemy import select

from portal.core import clock
from portal.core.config import Settings
from portal.core.db import Database
from portal.core.destinations import RefusedDestination, pinned_session
from portal.core.outbox import OutboxMessage
from portal.core.senders import (
    DeliveryError,
    PermanentDeliveryError,
    TemporaryDeliveryError,
    split_timeout,
)
from portal.outbound import service
from portal.outbound.config import api_key
from portal.outbound.models import OutboundTask

log = logging.getLogger(__name__)
#: The most of a POST's answer read (an Open311 answer is a few hundred bytes).
MAX_ANSWER = 64 * 1024


#: Connecting takes at most a third of PORTAL_OUTBOUND_TIMEOUT (3 s at most), the rest is left
#: for the answer (filing can be slow: the portal's own Open311 POST took ~5 s for its first
#: possible-duplicates check).
CONNECT_SHARE, CONNECT_CAP = 1 / 3, 3.0


def read_answer(response: requests.Response, *, deadline: float) -> bytes:
    """The answer's body, read by ``deadline`` (``time.monotonic()``) and at most
    ``MAX_ANSWER`` bytes: the whole attempt ends within the worker's lease on the message
    (``PORTAL_OUTBOUND_TIMEOUT`` plus 5 s), however slowly the endpoint answers."""
    body = bytearray()
    for chunk in response.iter_content(4096):
        body.extend(chunk)
        if len(body) > MAX_ANSWER:
            raise TemporaryDeliveryError(f"the answer is larger than {MAX_ANSWER} bytes")
        if time.monotonic() > deadline:
            raise TemporaryDeliveryError("the answer took longer than PORTAL_OUTBOUND_TIMEOUT")
    return bytes(body)


def _error_text(raw: bytes) -> str:
    """The Open311 error's description, else the start of the body."""
    try:
        body = json.loads(raw)
        if isinstance(body, list) and body and isinstance(body[0], dict):
            return str(body[0].get("description") or body[0])[:300]
    except ValueError:
        pass
    return raw[:300].decode("utf-8", "replace")


class Open311Sender:
    def __init__(
        self, db: Database, settings: Settings, *, environ: Mapping[str, str] | None = None
    ) -> None:
        self.db = db
        self.settings = settings
        self.environ = environ
        self.http = pinned_session(settings.outbound_allowed_networks)

    def _link(self, message: OutboxMessage) -> OutboundTask:
        try:
            link_id = int(message.to_address)
        except ValueError as exc:
            raise PermanentDeliveryError(f"not an outbound task: {message.to_address!r}") from exc
        with self.db.transaction() as session:
            link = session.scalar(select(OutboundTask).where(OutboundTask.id == link_id))
            if link is None:
                raise PermanentDeliveryError("the task is gone")
            session.expunge(link)
        return link

    def send(self, message: OutboxMessage) -> None:
        link = self._link(message)
        if link.state != "posting":
            return  # already filed (or given up on): nothing to send again
        try:
            self._post(link, message)
        except DeliveryError as exc:
            final = exc.permanent or message.attempts >= self.settings.outbox_max_attempts
            with self.db.transaction() as session:
                current = session.get(OutboundTask, link.id)
                if current is not None:
                    service.record_failure(session, current, error=str(exc), final=final)
            raise

    def _post(self, link: OutboundTask, message: OutboxMessage) -> None:
        try:
            form = json.loads(message.body_text)
        except ValueError as exc:
            raise PermanentDeliveryError("the form is not JSON") from exc
        key = api_key(link.api_key_env, self.environ)
        if key:
            form["api_key"] = key
        url = link.endpoint.rstrip("/") + "/requests.json"
        deadline = time.monotonic() + self.settings.outbound_timeout
        try:
            with self.http.post(
                url,
                data=form,
                headers={"Idempotency-Key": link.idempotency_key, "Accept": "application/json"},
                timeout=split_timeout(
                    self.settings.outbound_timeout, share=CONNECT_SHARE, cap=CONNECT_CAP
                ),
                allow_redirects=False,
                stream=True,
            ) as response:
                status = response.status_code
                raw = read_answer(response, deadline=deadline)
        except RefusedDestination as exc:
            raise PermanentDeliveryError(f"{link.system}: refused destination: {exc}") from exc
        except (requests.RequestException, OSError) as exc:
            raise TemporaryDeliveryError(f"{link.system} unreachable: {exc!r}") from exc
        if status == 429 or status >= 500 or status == 408:
            raise TemporaryDeliveryError(f"{link.system} answered {status}: {_error_text(raw)}")
        if not 200 <= status < 300:
            raise PermanentDeliveryError(
                f"{link.system} refused the task ({status}): {_error_text(raw)}"
            )
        try:
            external_id, token = service.answer_ids(json.loads(raw))
        except ValueError as exc:
            raise TemporaryDeliveryError(f"{link.system} answered {status} without JSON") from exc
        if not external_id and not token:
            raise PermanentDeliveryError(f"{link.system} answered without an id or token")
        with self.db.transaction() as session:
            current = session.get(OutboundTask, link.id)
            if current is not None:
                service.record_filed(
                    session, current, external_id=external_id, token=token, now=clock.now()
                )


def open311_sender(db: Database, settings: Settings) -> Open311Sender:
    """The open311 channel's sender (always available: a department without an endpoint
    queues nothing)."""
    return Open311Sender(db, settings)
