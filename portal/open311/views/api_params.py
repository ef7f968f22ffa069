"""Every GET of the Open311 API accepts only the query parameters it uses: any other one is a
400 naming it, so a client's typo or an extension this server lacks (``agency_responsible``,
``has_photo``...) is never silently ignored. The lists here are the spec's parameters, this
server's extensions, and on every resource ``jurisdiction_id``, ``api_key`` (reads may send a
key, for the key's own read limit) and ``lang`` (the answer's language). POST is checked by
``portal.open311.posting``, which names unknown attributes itself.
"""

from __future__ import annotations

from flask import request

from portal.open311.views.api import bp
from portal.open311.views.api_formats import ApiError

COMMON = frozenset({"jurisdiction_id", "api_key", "lang"})
LIST_PARAMETERS = frozenset(
    {
        "service_request_id",
        "service_code",
        "status",
        "start_date",
        "end_date",
        "updated_after",
        "updated_before",
        "lat",
        "long",
        "radius",
        "page",
        "page_size",
        "extensions",
    }
)
#: The query parameters of each GET resource (by endpoint), besides ``COMMON``.
SUPPORTED: dict[str, frozenset[str]] = {
    "open311_api.discovery": frozenset(),
    "open311_api.services": frozenset(),
    "open311_api.service_definition": frozenset(),
    "open311_api.request_list": LIST_PARAMETERS,
    "open311_api.request_detail": frozenset({"extensions"}),
    "open311_api.token": frozenset(),
    "open311_api.request_updates_list": frozenset({"start_date", "end_date", "page", "page_size"}),
    "open311_api.request_updates": frozenset(),
    "open311_api.request_survey": frozenset({"token"}),
}


def supported(endpoint: str) -> frozenset[str]:
    return COMMON | SUPPORTED[endpoint]


@bp.before_request
def _refuse_unknown_parameters() -> None:
    if request.method not in ("GET", "HEAD") or request.endpoint not in SUPPORTED:
        return
    known = supported(request.endpoint)
    # An empty parameter is an absent one, everywhere in this API: "?foo=" is not refused.
    unknown = [
        name
        for name in dict.fromkeys(request.args)
        if name not in known and any(v.strip() for v in request.args.getlist(name))
    ]
    if unknown:
        raise ApiError(
            400,
            *(
                f"Unknown parameter '{name[:40]}': this resource takes "
                + ", ".join(sorted(known))
                + "."
                for name in unknown
            ),
        )
