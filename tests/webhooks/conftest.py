"""What the webhooks tests share: a signed-event receiver on loopback and one worker round of
the outbox (``deliver``), ``minutes`` after now (retries wait their backoff)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from portal.core import clock
from portal.core.senders import channel_sender
from portal.core.worker import deliver_outbox
from tests.webhook_receiver import WebhookReceiver


@pytest.fixture
def receiver():
    with WebhookReceiver() as running:
        yield running


def deliver(app, settings, *, minutes=0):
    db = app.extensions["portal.db"]
    return deliver_outbox(
        db,
        channel_sender(db, settings),
        now=clock.now() + timedelta(minutes=minutes),
        max_attempts=settings.outbox_max_attempts,
    )
