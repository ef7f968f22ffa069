"""The OpenAPI 3 description of the Open311 GeoReport v2 API, served at
``/open311/v2/openapi.json``.

The document is data built once at import. Every resource exists with both suffixes, as two
paths (``services.xml`` and ``services.json``): the JSON paths carry JSON schemas, the XML paths
``text/xml`` strings (the XML holds the same fields under the spec's element names). Every
operation documents its 400, 403, 404 and 429 answers, all the spec's error collection.
The schemas and parameters are in ``portal.open311.openapi_components``.
``tests/open311/test_schema.py`` runs schemathesis against the app with this document, so it
stays true.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Response

from portal.open311.openapi_components import (
    API_KEY_QUERY,
    API_KEY_READ,
    EXTENSIONS,
    IDEMPOTENCY_KEY,
    JURISDICTION,
    KEY_OPTIONAL,
    KEY_REQUIRED,
    LANG,
    LIST_FILTERS,
    POST_FORM,
    POST_MULTIPART,
    SCHEMAS,
    SECURITY_SCHEMES,
    _path,
)
from portal.open311.openapi_updates import (
    REPLY_FORM,
    REPLY_MULTIPART,
    SURVEY_FORM,
    SURVEY_KEY,
    SURVEY_SCHEMAS,
    SURVEY_TOKEN,
    UPDATE_FILTERS,
    UPDATE_SCHEMAS,
)
from portal.open311.views.api import bp

PREFIX = "/open311/v2"
SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"

JSON_TYPE = "application/json"
XML_TYPE = "text/xml"
CONTENT = {"json": JSON_TYPE, "xml": XML_TYPE}


#: Every read takes an optional key (its own read limit) and the answer's language.
READS = [API_KEY_READ, LANG]

# -- HTTP headers (portal/open311/views/api_http.py) ---------------------------------------


def _header(description: str) -> dict[str, Any]:
    return {"description": description, "schema": {"type": "string"}}


#: On every answer.
HTTP_HEADERS = {
    "Vary": _header("Origin, Accept-Language (and Accept-Encoding): the answer depends on them."),
    "Access-Control-Allow-Origin": _header(
        "The page's Origin, when it may read the answer: on PORTAL_OPEN311_CORS_ORIGINS or on "
        "the api_key's web origins (reads), on the key's web origins (POST)."
    ),
    "Access-Control-Expose-Headers": _header(
        "ETag, Last-Modified, Retry-After, Location, RateLimit and X-RateLimit-* headers, "
        "X-Request-ID: what a page may read."
    ),
}
#: On every successful read (and its 304).
VALIDATOR_HEADERS = {
    "ETag": _header(
        "Changes whenever anything in the answer does (a request, a service, the language, "
        "the format); a compressed answer's ends in its coding (:gzip, :br). Send it back as "
        "If-None-Match for a 304."
    ),
    "Last-Modified": _header(
        "The last change to the catalogue (and to any request, for requests); send it back as "
        "If-Modified-Since for a 304."
    ),
    "Cache-Control": _header("no-cache: keep the answer, but ask again with its ETag."),
}

# -- operations ---------------------------------------------------------------------------

ERROR_STATUSES = {
    "400": "Anything else wrong with the request (one error entry per problem found), "
    "a query parameter the resource does not take included.",
    "403": "A missing, invalid or revoked api_key.",
    "404": "An unknown resource, service_code, request, token or jurisdiction_id.",
    "429": "Too many requests for this key or address (Retry-After says when to retry).",
}


def _body(fmt: str, ref: str | None) -> dict[str, Any]:
    if fmt == "json":
        schema: dict[str, Any] = {"$ref": f"#/components/schemas/{ref}"}
    else:
        schema = {
            "type": "string",
            "description": "The same data as XML, with the spec's "
            "element names and an XML declaration.",
        }
    return {CONTENT[fmt]: {"schema": schema}}


def _operation(
    fmt: str,
    *,
    operation_id: str,
    summary: str,
    ok: str,
    parameters: list,
    extra_errors: dict[str, str] | None = None,
    ok_status: str = "200",
    request_body: dict[str, Any] | None = None,
    key_required: bool | None = None,
) -> dict[str, Any]:
    """One operation; ``key_required`` defaults to whether it takes a body (every POST)."""
    responses: dict[str, Any] = {
        ok_status: {"description": summary, "content": _body(fmt, ok), "headers": HTTP_HEADERS}
    }
    if ok_status == "200":
        responses["200"]["headers"] = {**HTTP_HEADERS, **VALIDATOR_HEADERS}
        responses["304"] = {
            "description": "Not modified: the If-None-Match (or If-Modified-Since) sent "
            "still matches; no body.",
            "headers": VALIDATOR_HEADERS,
        }
    errors = {**ERROR_STATUSES, **(extra_errors or {})}
    if request_body:
        errors.setdefault(
            "415",
            "The body is not form fields: send "
            "application/x-www-form-urlencoded or multipart/form-data.",
        )
    for status, description in errors.items():
        responses[status] = {"description": description, "content": _body(fmt, "Errors")}
    operation: dict[str, Any] = {
        "operationId": f"{operation_id}{fmt.capitalize()}",
        "summary": summary,
        "tags": ["GeoReport v2"],
        "parameters": parameters,
        "responses": responses,
        "security": KEY_REQUIRED
        if (bool(request_body) if key_required is None else key_required)
        else KEY_OPTIONAL,
    }
    if request_body:
        operation["requestBody"] = request_body
    return operation


def _paths() -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for fmt in ("xml", "json"):
        paths[f"{PREFIX}/discovery.{fmt}"] = {
            "get": _operation(
                fmt,
                operation_id="getDiscovery",
                ok="Discovery",
                parameters=[JURISDICTION, *READS],
                summary="Service discovery: contact, key service and this endpoint's formats.",
            )
        }
        paths[f"{PREFIX}/services.{fmt}"] = {
            "get": _operation(
                fmt,
                operation_id="getServices",
                ok="Services",
                parameters=[JURISDICTION, *READS],
                summary="Every active service (category).",
            )
        }
        paths[f"{PREFIX}/services/{{service_code}}.{fmt}"] = {
            "get": _operation(
                fmt,
                operation_id="getServiceDefinition",
                ok="ServiceDefinition",
                parameters=[
                    _path("service_code", "A service_code from services."),
                    JURISDICTION,
                    *READS,
                ],
                summary="A service's definition: the attributes the request form asks.",
            )
        }
        paths[f"{PREFIX}/requests.{fmt}"] = {
            "get": _operation(
                fmt,
                operation_id="getServiceRequests",
                ok="ServiceRequests",
                parameters=[JURISDICTION, *LIST_FILTERS, *READS],
                summary="Public service requests, newest first (at most 1,000 a page).",
            ),
            "post": _operation(
                fmt,
                operation_id="postServiceRequest",
                ok="PostedRequests",
                parameters=[JURISDICTION, API_KEY_QUERY, IDEMPOTENCY_KEY],
                extra_errors={
                    "409": "The Idempotency-Key was used before with another body.",
                    "413": "The body (photos included) is too large.",
                },
                ok_status="201",
                summary="File a service request (needs an api_key).",
                request_body={
                    "required": True,
                    "content": {
                        "application/x-www-form-urlencoded": {"schema": POST_FORM},
                        "multipart/form-data": {"schema": POST_MULTIPART},
                    },
                },
            ),
        }
        paths[f"{PREFIX}/requests/{{service_request_id}}.{fmt}"] = {
            "get": _operation(
                fmt,
                operation_id="getServiceRequest",
                ok="ServiceRequests",
                parameters=[
                    _path("service_request_id", "A service_request_id."),
                    JURISDICTION,
                    EXTENSIONS,
                    *READS,
                ],
                summary="One public service request, as a collection of one.",
            )
        }
        paths[f"{PREFIX}/tokens/{{token}}.{fmt}"] = {
            "get": _operation(
                fmt,
                operation_id="getToken",
                ok="Tokens",
                parameters=[_path("token", "A token from a POST."), JURISDICTION, *READS],
                summary="The service_request_id a POST's token became.",
            )
        }
        _update_paths(paths, fmt)
        _survey_paths(paths, fmt)
    return paths


def _survey_paths(paths: dict[str, Any], fmt: str) -> None:
    """The satisfaction survey of a request, for the reporter's app."""
    request_id = _path("service_request_id", "A service_request_id.")
    paths[f"{PREFIX}/requests/{{service_request_id}}/survey.{fmt}"] = {
        "get": _operation(
            fmt,
            operation_id="getServiceRequestSurvey",
            ok="Survey",
            parameters=[request_id, JURISDICTION, SURVEY_KEY, SURVEY_TOKEN, LANG],
            key_required=True,
            summary="The satisfaction survey sent about a request (once it is resolved), for "
            "the reporter's app: api_key and the reporter's token.",
        ),
        "post": _operation(
            fmt,
            operation_id="postServiceRequestSurvey",
            ok="SurveyResponses",
            parameters=[request_id, JURISDICTION, API_KEY_QUERY],
            extra_errors={
                "409": "The survey was already answered, expired or was withdrawn.",
                "413": "The body is too large.",
                "415": "The body is not form fields.",
            },
            ok_status="201",
            summary="Answer the request's survey, as the emailed link's page does (an answer "
            "that it is not resolved reopens the request).",
            request_body={
                "required": True,
                "content": {"application/x-www-form-urlencoded": {"schema": SURVEY_FORM}},
            },
        ),
    }


def _update_paths(paths: dict[str, Any], fmt: str) -> None:
    """FixMyStreet's servicerequestupdates extension: read updates, post the reporter's reply."""
    reply = _operation(
        fmt,
        operation_id="postServiceRequestUpdate",
        ok="PostedUpdates",
        parameters=[JURISDICTION, API_KEY_QUERY],
        extra_errors={
            "409": "The request is closed for replies (send status=open to reopen it within "
            "the reopening window), or it changed meanwhile.",
            "413": "The body (photos included) is too large.",
            "415": "The body is not form fields.",
        },
        ok_status="201",
        summary="The reporter's reply to a request, from an app (needs an api_key and the "
        "reporter's token); it goes to staff exactly like a reply on the request's page.",
        request_body={
            "required": True,
            "content": {
                "application/x-www-form-urlencoded": {"schema": REPLY_FORM},
                "multipart/form-data": {"schema": REPLY_MULTIPART},
            },
        },
    )
    reply["responses"]["200"] = {
        "description": "A retry of an update_id already used here: the same update, nothing added.",
        "content": _body(fmt, "PostedUpdates"),
    }
    paths[f"{PREFIX}/servicerequestupdates.{fmt}"] = {
        "get": _operation(
            fmt,
            operation_id="getServiceRequestUpdates",
            ok="RequestUpdates",
            parameters=[JURISDICTION, *UPDATE_FILTERS, *READS],
            summary="FixMyStreet's extension: the public updates of requests in a time window, "
            "oldest first; a request that is not public only with the api_key that filed it.",
        ),
        "post": reply,
    }
    paths[f"{PREFIX}/requests/{{service_request_id}}/updates.{fmt}"] = {
        "get": _operation(
            fmt,
            operation_id="getServiceRequestUpdatesOfOne",
            ok="RequestUpdates",
            parameters=[
                _path("service_request_id", "A service_request_id."),
                JURISDICTION,
                *READS,
            ],
            summary="The public updates of one request, oldest first (a request that is not "
            "public only with the api_key that filed it).",
        )
    }


OPENAPI: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {
        "title": "Open311 GeoReport v2",
        "version": "2",
        "description": "A GeoReport v2 server (" + SPECIFICATION + "), in XML (the spec's "
        "required format) and JSON, chosen only by the .xml or .json suffix. "
        "Collections are top-level JSON arrays; errors are a collection of "
        "{code, description} for every method and format. An empty parameter "
        "is treated as an absent one; a query parameter a resource does not take is a "
        "400 naming it. Extensions: page and page_size, extensions=true, "
        "updated_after/updated_before, lat/long/radius, photos as multipart file "
        "fields, Idempotency-Key on POST, FixMyStreet's servicerequestupdates (read a "
        "request's public updates, post the reporter's reply with the reporter's "
        "token), and the request's satisfaction survey for the reporter's app. Reads "
        "are limited per address, or per key with api_key (or "
        "X-Api-Key); every 429 has Retry-After. "
        "HTTP: every read has an ETag and Last-Modified and answers 304 to If-None-Match or "
        "If-Modified-Since; answers are compressed (gzip or br) when the client accepts it; "
        "no answer sets a cookie. Browsers (CORS): reads from the city's origins "
        "(PORTAL_OPEN311_CORS_ORIGINS) or the api_key's web origins, POST only from the "
        "origins registered on the api_key it sends (else a 403, nothing filed); a preflight "
        "allows Content-Type, Idempotency-Key, X-Api-Key, If-None-Match, If-Modified-Since "
        "and Accept-Language. A POST body must be form fields (a JSON body is a 415). Services "
        "say whether they are private (extension 'private'); a request in a private service "
        "is read back only with the api_key that filed it.",
    },
    # The city's developer page (portal.open311.views.developers): how to start, keys, limits
    # and a working example of every resource; the spec itself is linked from the description.
    "externalDocs": {
        "description": "Developer guide: getting started, keys, limits, examples, changelog",
        "url": "/developers/",
    },
    "servers": [{"url": "/"}],
    "tags": [{"name": "GeoReport v2"}],
    "paths": _paths(),
    "components": {
        "schemas": {**SCHEMAS, **UPDATE_SCHEMAS, **SURVEY_SCHEMAS},
        "securitySchemes": SECURITY_SCHEMES,
    },
}
_DOCUMENT = json.dumps(OPENAPI, ensure_ascii=False)


@bp.get("/openapi.json")
def openapi() -> Response:
    """The OpenAPI document (the same bytes every time, cacheable for an hour)."""
    response = Response(_DOCUMENT, content_type="application/json; charset=utf-8")
    response.cache_control.public = True
    response.cache_control.max_age = 3600
    return response
