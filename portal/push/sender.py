"""The worker's sender for outbox messages of channel "push": Web Push (RFC 8030) with the
payload encrypted for the device (RFC 8291, aes128gcm) and signed with the portal's VAPID key
(RFC 8292), by pywebpush.

The push service's answer decides: 201 (or any 2xx) sent; 404 or 410 the subscription is gone
(removed, and the message failed: retrying cannot help); 429 and 5xx, or no answer, are
temporary (the outbox retries with its backoff); any other 4xx is permanent.

The endpoint is a URL the resident's browser gave, so it goes through the portal's destination
policy (``portal.core.destinations``) like webhooks and outbound Open311: the name is resolved
once, every address checked, and the connection made to the checked address. A push service
is on the internet: no private network is allowed (only loopback, with
``PORTAL_PUSH_ALLOW_LOOPBACK_HTTP``, for a push service on this machine in development and
tests). A subscription whose endpoint the policy refuses is removed.
"""

from __future__ import annotations

import json
import logging

import requests
from py_vapid import Vapid
from pywebpush import WebPushException, webpush
from sqlalchemy import delete, select, update

from portal.core import clock
from portal.core.config import Settings
from portal.core.db import Database
from portal.core.destinations import RefusedDestination, pinned_session
from portal.core.outbox import OutboxMessage
from portal.core.senders import PermanentDeliveryError, TemporaryDeliveryError
from portal.core.vapid import private_key
from portal.push.models import PushSubscription

log = logging.getLogger(__name__)

#: How long a push service keeps a message for a device that is offline (seconds).
TTL = 24 * 3600
GONE = (404, 410)
#: The only networks a push endpoint may be on besides the internet, when the settings allow
#: a push service on this machine (``push_allow_loopback_http``).
LOOPBACK_NETWORKS = ("127.0.0.0/8", "::1/128")


def vapid_subject(settings: Settings) -> str:
    """The VAPID ``sub`` claim: the configured contact, else mailto: the sender address."""
    if settings.vapid_subject:
        return settings.vapid_subject
    address = settings.mail_from.rpartition("<")[2].rstrip(">").strip()
    if "@" in address:
        return f"mailto:{address}"
    return (
        settings.base_url if settings.base_url.startswith("https://") else "mailto:push@localhost"
    )


class PushSender:
    """Sends one push message; looks the device up and records its fate in ``db``."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self.vapid = Vapid(private_key=private_key(settings.vapid_private_key))
        self.http = pinned_session(LOOPBACK_NETWORKS if settings.push_allow_loopback_http else ())

    def _device(self, message: OutboxMessage) -> PushSubscription:
        try:
            device_id = int(message.to_address)
        except ValueError as exc:
            raise PermanentDeliveryError(
                f"not a push subscription: {message.to_address!r}"
            ) from exc
        with self.db.transaction() as session:
            device = session.scalar(
                select(PushSubscription).where(PushSubscription.id == device_id)
            )
            if device is None:
                raise PermanentDeliveryError("the device was unsubscribed")
            session.expunge(device)
        return device

    def send(self, message: OutboxMessage) -> None:
        device = self._device(message)
        try:
            json.loads(message.body_text)
        except ValueError as exc:
            raise PermanentDeliveryError("the payload is not JSON") from exc
        try:
            webpush(
                {
                    "endpoint": device.endpoint,
                    "keys": {"p256dh": device.p256dh, "auth": device.auth},
                },
                data=message.body_text,
                vapid_private_key=self.vapid,
                vapid_claims={"sub": vapid_subject(self.settings)},
                content_encoding="aes128gcm",
                timeout=self.settings.push_timeout,
                ttl=TTL,
                headers={"Urgency": "normal"},
                requests_session=self.http,
            )
        except WebPushException as exc:
            status = exc.response.status_code if exc.response is not None else 0
            self._refused(device, status)
        except RefusedDestination as exc:
            self._remove(device)
            where = exc.host if exc.host == exc.address else f"{exc.host} ({exc.address})"
            what = "plain http" if exc.reason == "http" else f"a {exc.reason} address"
            reason = f"push endpoint {where} is {what}: push services are on the internet"
            log.warning("push subscription %s removed: %s", device.id, reason)
            raise PermanentDeliveryError(f"{reason}; subscription removed") from exc
        except (requests.RequestException, OSError) as exc:
            raise TemporaryDeliveryError(f"push service unreachable: {exc!r}") from exc
        with self.db.transaction() as session:
            session.execute(
                update(PushSubscription)
                .where(PushSubscription.id == device.id)
                .values(last_success_at=clock.now())
            )

    def _remove(self, device: PushSubscription) -> None:
        _remove_device(self.db, device)

    def _refused(self, device: PushSubscription, status: int) -> None:
        if status in GONE:
            self._remove(device)
            log.info("push subscription %s is gone (%s): removed", device.id, status)
            raise PermanentDeliveryError(f"push service answered {status}: subscription removed")
        if status == 429 or status >= 500 or status == 0:
            raise TemporaryDeliveryError(f"push service answered {status or 'nothing'}")
        raise PermanentDeliveryError(f"push service refused the message: {status}")


def _remove_device(db: Database, device: PushSubscription) -> None:
    with db.transaction() as session:
        session.execute(delete(PushSubscription).where(PushSubscription.id == device.id))


def push_sender(db: Database, settings: Settings) -> PushSender | None:
    """The push channel's sender, when the portal has VAPID keys."""
    if not settings.vapid_private_key:
        return None
    return PushSender(db, settings)
