"""The periodic jobs the worker runs each round, registered in one place.

Each job is ``job(db, settings, now)``, opens and commits its own sessions, and is harmless to
re-run. ``create_app`` calls ``register_all()`` so ``flask worker`` sees every job.
"""

from __future__ import annotations

from datetime import datetime

from portal.core.config import Settings
from portal.core.db import Database
from portal.core.senders import register_channel
from portal.core.worker import register_job


def sweep_expired_drafts(db: Database, settings: Settings, now: datetime) -> str | None:
    """Delete filing drafts (and their unfiled photos) past their expiry."""
    from portal.requests.drafts import sweep_drafts

    with db.transaction() as session:
        removed = sweep_drafts(session, settings=settings, now=now)
    return f"swept {removed} expired draft(s)" if removed else None


def sweep_sign_in_counters(db: Database, settings: Settings, now: datetime) -> str | None:
    """Delete failed sign-in counters a day past their last failure (portal.auth.throttle)."""
    from portal.auth.service import sweep_sign_in_counters as sweep

    with db.transaction() as session:
        removed = sweep(session, now)
    return f"swept {removed} sign-in counter(s)" if removed else None


def purge_idempotency_keys(db: Database, settings: Settings, now: datetime) -> str | None:
    """Delete idempotency keys past their 24 hours (portal.core.idempotency)."""
    from portal.core.idempotency import purge

    with db.transaction() as session:
        removed = purge(session, now=now)
    return f"purged {removed} idempotency key(s)" if removed else None


def register_all() -> None:
    from portal.assist.categories import retrain_categories
    from portal.mail_in.retry import process_inbound_mail
    from portal.notifications.staff import send_staff_digests
    from portal.ops.status import record_worker_heartbeat
    from portal.outbound.poll import poll_job as poll_outbound
    from portal.outbound.sender import open311_sender
    from portal.privacy.export import build_data_exports, expire_data_exports
    from portal.privacy.retention import sweep_retention
    from portal.programmes.offers import process_programme_offers
    from portal.programmes.reminders import send_session_reminders
    from portal.push.sender import push_sender
    from portal.reports.catalogue import refresh_report_rollups
    from portal.reports.digest import send_hotspot_digest
    from portal.reports.equity import send_equity_alerts
    from portal.reports.team_digest import send_team_digests
    from portal.reports.themes import compute_themes
    from portal.requests.sweeps import sweep_filing_leftovers
    from portal.sla.forecasts import rebuild_forecasts
    from portal.sla.sweep import sweep_sla
    from portal.surveys.invitations import send_due_invitations
    from portal.webhooks.sender import webhook_sender
    from portal.webhooks.service import purge_webhook_deliveries

    register_channel("push", push_sender)
    register_channel("webhook", webhook_sender)
    register_channel("open311", open311_sender)
    register_job(record_worker_heartbeat)  # first: stamps the start of every round
    register_job(sweep_expired_drafts)
    register_job(sweep_filing_leftovers)
    register_job(sweep_sign_in_counters)
    register_job(purge_idempotency_keys)
    register_job(sweep_sla)
    register_job(rebuild_forecasts)
    register_job(send_staff_digests)
    register_job(send_due_invitations)
    register_job(process_programme_offers)
    register_job(send_session_reminders)
    register_job(compute_themes)  # before the digest, which names the week's themes
    register_job(send_hotspot_digest)
    register_job(send_team_digests)
    register_job(send_equity_alerts)
    register_job(refresh_report_rollups)
    register_job(build_data_exports)
    register_job(expire_data_exports)
    register_job(sweep_retention)
    register_job(purge_webhook_deliveries)
    register_job(poll_outbound)
    register_job(process_inbound_mail)
    register_job(retrain_categories)
