"""The worker's sender for outbox messages of channel "webhook": a signed POST of one delivery
(``WebhookDelivery``, named by the message's ``to_address``) to its endpoint.

The endpoint's answer decides: any 2xx delivered; 410 Gone switches the endpoint off (the
delivery fails: retrying cannot help); anything else (another status, a redirect, a timeout, no
connection) is retried with the outbox's backoff until ``outbox_max_attempts``, then failed.
Every attempt is written on the delivery (attempts, status, error). Redirects are not followed;
the host is resolved once per attempt, every address it resolves to is checked and the
connection goes to a checked address (``portal.core.destinations``): a destination the policy
refuses fails the delivery at once (permanent until an admin changes the URL or the operator
the allowed networks), with the reason in the delivery log.
"""

from __future__ import annotations

import logging
import socket
from typing import Any, NoReturn

import requests
from sqlalchemy import select, update

from portal.core import clock
from portal.core.audit import AuditEntry
from portal.core.config import Settings
from portal.core.db import Database
from portal.core.destinations import RefusedDestination, pinned_session
from portal.core.outbox import OutboxMessage
from portal.core.senders import PermanentDeliveryError, TemporaryDeliveryError, split_timeout
from portal.webhooks import signing
from portal.webhooks.models import WebhookDelivery, WebhookEndpoint

log = logging.getLogger(__name__)
GONE = 410
ERROR_LENGTH = 500


#: Connecting takes at most half of PORTAL_WEBHOOK_TIMEOUT (5 s at most), so one exchange ends
#: within the worker's lease on the message.
CONNECT_SHARE, CONNECT_CAP = 1 / 2, 5.0


class WebhookSender:
    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self.http = pinned_session(settings.outbound_allowed_networks)

    def _load(self, message: OutboxMessage) -> tuple[WebhookDelivery, WebhookEndpoint]:
        try:
            delivery_id = int(message.to_address)
        except ValueError as exc:
            raise PermanentDeliveryError(f"not a webhook delivery: {message.to_address!r}") from exc
        with self.db.transaction() as session:
            delivery = session.scalar(
                select(WebhookDelivery).where(WebhookDelivery.id == delivery_id)
            )
            if delivery is None:
                raise PermanentDeliveryError("the delivery is no longer in the log")
            endpoint = delivery.endpoint
            session.expunge(delivery)
            session.expunge(endpoint)
        return delivery, endpoint

    def _record(self, delivery: WebhookDelivery, **values: Any) -> None:
        with self.db.transaction() as session:
            session.execute(
                update(WebhookDelivery)
                .where(WebhookDelivery.id == delivery.id)
                .values(
                    attempts=WebhookDelivery.attempts + 1, last_attempt_at=clock.now(), **values
                )
            )

    def _outcome(
        self,
        message: OutboxMessage,
        delivery: WebhookDelivery,
        *,
        status: int | None,
        error: str,
        permanent: bool,
    ) -> NoReturn:
        """Record a failed attempt and raise the error the outbox expects."""
        error = error[:ERROR_LENGTH]
        last = permanent or message.attempts >= self.settings.outbox_max_attempts
        self._record(
            delivery, state="failed" if last else "pending", last_status=status, last_error=error
        )
        if permanent:
            raise PermanentDeliveryError(error)
        raise TemporaryDeliveryError(error)

    def send(self, message: OutboxMessage) -> None:
        delivery, endpoint = self._load(message)
        if not endpoint.active:
            self._outcome(
                message, delivery, status=None, permanent=True, error="the endpoint is switched off"
            )
        body = delivery.payload.encode("utf-8")
        headers = signing.headers(
            endpoint.secret,
            message_id=delivery.message_id,
            timestamp=int(clock.now().timestamp()),
            body=body,
        )
        headers["content-type"] = "application/json"
        headers["user-agent"] = f"{self.settings.short_name or 'Portal'} webhooks"
        try:
            response = self.http.post(
                endpoint.url,
                data=body,
                headers=headers,
                timeout=split_timeout(
                    self.settings.webhook_timeout, share=CONNECT_SHARE, cap=CONNECT_CAP
                ),
                allow_redirects=False,
                stream=True,  # the answer's body is not read
            )
            response.close()
        except RefusedDestination as exc:
            self._outcome(
                message, delivery, status=None, permanent=True, error=f"refused destination: {exc}"
            )
        except socket.gaierror as exc:
            self._outcome(
                message,
                delivery,
                status=None,
                permanent=False,
                error=f"the endpoint's host does not resolve: {exc}",
            )
        except (requests.RequestException, OSError) as exc:
            self._outcome(
                message,
                delivery,
                status=None,
                permanent=False,
                error=f"no answer: {type(exc).__name__}",
            )
        status = response.status_code
        if 200 <= status < 300:
            self._record(
                delivery,
                state="delivered",
                last_status=status,
                last_error="",
                delivered_at=clock.now(),
            )
            return
        if status == GONE:
            self._switch_off(endpoint, reason="410 Gone")
            self._outcome(
                message,
                delivery,
                status=status,
                permanent=True,
                error="410 Gone: the endpoint is switched off",
            )
        self._outcome(
            message,
            delivery,
            status=status,
            permanent=False,
            error=f"HTTP {status} {response.reason or ''}".strip(),
        )

    def _switch_off(self, endpoint: WebhookEndpoint, *, reason: str) -> None:
        now = clock.now()
        with self.db.transaction() as session:
            done = session.execute(
                update(WebhookEndpoint)
                .where(WebhookEndpoint.id == endpoint.id, WebhookEndpoint.active.is_(True))
                .values(active=False, disabled_reason=reason, updated_at=now)
            ).rowcount  # type: ignore[attr-defined]
            if done:
                session.add(
                    AuditEntry(
                        actor_id=None,
                        entity="webhook_endpoint",
                        entity_id=str(endpoint.id),
                        action="disable",
                        before={"active": True},
                        after={"active": False, "disabled_reason": reason},
                        created_at=now,
                    )
                )
        log.info("webhook endpoint %s answered %s: switched off", endpoint.id, reason)


def webhook_sender(db: Database, settings: Settings) -> WebhookSender:
    """The webhook channel's sender."""
    return WebhookSender(db, settings)
