"""Outside tests and development (no PORTAL_OUTBOUND_ALLOWED_NETWORKS), the admin form refuses
plain http and addresses on this machine or a private network, in the admin's language."""

from __future__ import annotations

from sqlalchemy import select

from portal.webhooks.models import WebhookEndpoint
from tests.conftest import csrf_from, sign_in


def test_production_refuses_private_and_plain_http_in_spanish(client, db, make):
    sign_in(client, make.user(role="admin", locale="es"))
    for url, message in [
        ("http://hooks.example.com/x", "La URL debe empezar por https://"),
        ("https://127.0.0.1:8000/x", "La URL debe estar en internet"),
        ("https://169.254.169.254/latest", "La URL debe estar en internet"),
    ]:
        page = client.get("/staff/webhooks/new?lang=es").get_data(as_text=True)
        response = client.post(
            "/staff/webhooks/new",
            data={"csrf_token": csrf_from(page), "url": url, "events": ["request.created"]},
        )
        assert response.status_code == 400
        assert message in response.get_data(as_text=True)
    assert db.scalar(select(WebhookEndpoint)) is None
