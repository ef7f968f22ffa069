"""Open311 API keys: admins only (list, make, set web origins, revoke)."""

from tests.access import ADMINS, RouteCheck


def _key_id(world) -> int:
    """A key made for the walk (the first call makes it; revoking it twice is harmless)."""
    from sqlalchemy.orm import object_session

    from portal.open311 import keys

    found = getattr(world, "_api_key_id", None)
    if found is None:
        session = object_session(world.request_x)
        key, _raw = keys.new_key(
            session, label="Walk app", rate_limit="60/minute", contact_email="", by=None
        )
        world._api_key_id = found = key.id
    return found


CHECKS = [
    RouteCheck("open311_keys.index", lambda w: "/staff/api-keys/", ADMINS),
    RouteCheck("open311_keys.index", lambda w: "/staff/api-keys/?before=99", ADMINS),
    RouteCheck("open311_keys.new", lambda w: "/staff/api-keys/new", ADMINS),
    RouteCheck(
        "open311_keys.new",
        lambda w: "/staff/api-keys/new",
        ADMINS,
        method="POST",
        data=lambda w: {"label": "", "rate_limit": "often"},
    ),
    RouteCheck("open311_keys.origins", lambda w: f"/staff/api-keys/{_key_id(w)}/origins", ADMINS),
    RouteCheck(
        "open311_keys.origins",
        lambda w: f"/staff/api-keys/{_key_id(w)}/origins",
        ADMINS,
        method="POST",
        data=lambda w: {"allowed_origins": "not an origin"},
    ),
    RouteCheck("open311_keys.revoke", lambda w: f"/staff/api-keys/{_key_id(w)}/revoke", ADMINS),
    RouteCheck(
        "open311_keys.revoke",
        lambda w: f"/staff/api-keys/{_key_id(w)}/revoke",
        ADMINS,
        method="POST",
    ),
]
