"""Webhook endpoints (issue 24): admins only (list, add, edit, secret, rotate, test, log)."""

from tests.access import ADMINS, RouteCheck


def _ids(world) -> tuple[int, int]:
    """An endpoint with one delivery, made for the walk (on first use)."""
    from sqlalchemy.orm import object_session

    from portal.core import clock
    from portal.core.config import Settings
    from portal.webhooks import service

    found = getattr(world, "_webhook_ids", None)
    if found is None:
        session = object_session(world.request_x)
        endpoint = service.create_endpoint(
            session,
            settings=Settings(),
            url="https://hooks.example.com/walk",
            description="Walk",
            event_types=["request.created"],
            by=None,
            now=clock.now(),
        )
        delivery = service.send_test(session, endpoint, now=clock.now())
        delivery.state = "failed"
        session.flush()
        world._webhook_ids = found = (endpoint.id, delivery.id)
    return found


def _endpoint(world) -> str:
    return f"/staff/webhooks/{_ids(world)[0]}"


CHECKS = [
    RouteCheck("webhooks_admin.index", lambda w: "/staff/webhooks/", ADMINS),
    RouteCheck("webhooks_admin.new", lambda w: "/staff/webhooks/new", ADMINS),
    RouteCheck(
        "webhooks_admin.new",
        lambda w: "/staff/webhooks/new",
        ADMINS,
        method="POST",
        data=lambda w: {"url": "", "events": ["request.created"]},
    ),
    RouteCheck("webhooks_admin.show", _endpoint, ADMINS),
    RouteCheck("webhooks_admin.show", lambda w: _endpoint(w) + "?before=99", ADMINS),
    RouteCheck("webhooks_admin.edit", lambda w: _endpoint(w) + "/edit", ADMINS),
    RouteCheck(
        "webhooks_admin.edit",
        lambda w: _endpoint(w) + "/edit",
        ADMINS,
        method="POST",
        data=lambda w: {"url": "ftp://nowhere"},
    ),
    RouteCheck("webhooks_admin.secret", lambda w: _endpoint(w) + "/secret", ADMINS, method="POST"),
    RouteCheck("webhooks_admin.rotate", lambda w: _endpoint(w) + "/rotate", ADMINS),
    RouteCheck("webhooks_admin.rotate", lambda w: _endpoint(w) + "/rotate", ADMINS, method="POST"),
    RouteCheck("webhooks_admin.send_test", lambda w: _endpoint(w) + "/test", ADMINS, method="POST"),
    RouteCheck(
        "webhooks_admin.redeliver",
        lambda w: f"{_endpoint(w)}/deliveries/{_ids(w)[1]}/redeliver",
        ADMINS,
        method="POST",
    ),
]
