"""The OpenAPI 3 description of the Open311 GeoReport v2 API, served at
``/open311/v2/openapi.json``.

The document is data built once at import. Every resource exists with both suffixes, as two
paths (``services.xml`` and ``services.json``): the JSON paths carry JSON schemas, the XML paths
``text/xml`` strings (the XML holds the same fields under the spec's element names). Every
operation documents its 400, 403, 404 and 429 answers, all the spec's error collection.
``tests/test_open311_schema.py`` runs schemathesis against the app with this document, so it
stays true.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Response

from portal.open311.views import bp

PREFIX = "/open311/v2"
SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
#: The POST's free-form text limit (the same as the web form's).
DESCRIPTION_MAX = 4000
PAGE_SIZE_MAX = 1000

JSON_TYPE = "application/json"
XML_TYPE = "text/xml"
CONTENT = {"json": JSON_TYPE, "xml": XML_TYPE}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {**schema, "nullable": True}


STRING = {"type": "string"}
TEXT = _nullable(STRING)
DATETIME = {
    "type": "string",
    "format": "date-time",
    "description": "W3C date-time with its time zone (Z or an HH:MM offset).",
}

SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["code", "description"],
        "additionalProperties": False,
        "properties": {
            "code": {"type": "string", "description": "The HTTP status, as a string."},
            "description": STRING,
        },
    },
    "Errors": {"type": "array", "minItems": 1, "items": {"$ref": "#/components/schemas/Error"}},
    "Discovery": {
        "type": "object",
        "required": ["changeset", "contact", "key_service", "endpoints"],
        "additionalProperties": False,
        "properties": {
            "changeset": DATETIME,
            "contact": STRING,
            "key_service": STRING,
            "endpoints": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "required": ["specification", "url", "changeset", "type", "formats"],
                    "additionalProperties": False,
                    "properties": {
                        "specification": STRING,
                        "url": STRING,
                        "changeset": DATETIME,
                        "type": {"type": "string", "enum": ["production", "test"]},
                        "formats": {
                            "type": "array",
                            "minItems": 1,
                            "items": {"type": "string", "enum": ["text/xml", "application/json"]},
                        },
                    },
                },
            },
        },
    },
    "Service": {
        "type": "object",
        "required": [
            "service_code",
            "service_name",
            "description",
            "metadata",
            "type",
            "keywords",
            "group",
        ],
        "additionalProperties": False,
        "properties": {
            "service_code": STRING,
            "service_name": STRING,
            "description": TEXT,
            "metadata": {
                "type": "boolean",
                "description": "True when the service has attributes to answer.",
            },
            "type": {"type": "string", "enum": ["realtime", "batch", "blackbox"]},
            "keywords": _nullable({"type": "string", "description": "Comma separated."}),
            "group": TEXT,
        },
    },
    "Services": {"type": "array", "items": {"$ref": "#/components/schemas/Service"}},
    "AttributeValue": {
        "type": "object",
        "required": ["key", "name"],
        "additionalProperties": False,
        "properties": {"key": STRING, "name": STRING},
    },
    "Attribute": {
        "type": "object",
        "required": [
            "variable",
            "code",
            "datatype",
            "required",
            "datatype_description",
            "order",
            "description",
        ],
        "additionalProperties": False,
        "properties": {
            "variable": {
                "type": "boolean",
                "description": "False for an informational attribute (no answer).",
            },
            "code": STRING,
            "datatype": {
                "type": "string",
                "enum": [
                    "string",
                    "number",
                    "datetime",
                    "text",
                    "singlevaluelist",
                    "multivaluelist",
                ],
            },
            "required": {"type": "boolean"},
            "datatype_description": TEXT,
            "order": {"type": "integer"},
            "description": STRING,
            "values": {"type": "array", "items": {"$ref": "#/components/schemas/AttributeValue"}},
        },
    },
    "ServiceDefinition": {
        "type": "object",
        "required": ["service_code", "attributes"],
        "additionalProperties": False,
        "properties": {
            "service_code": STRING,
            "attributes": {"type": "array", "items": {"$ref": "#/components/schemas/Attribute"}},
        },
    },
    "Note": {
        "type": "object",
        "required": ["datetime", "description", "type"],
        "properties": {"datetime": DATETIME, "description": TEXT, "type": STRING},
    },
    "ServiceRequest": {
        "type": "object",
        # Every field of the spec is present (null when unknown), so XML has every element.
        "required": [
            "service_request_id",
            "status",
            "status_notes",
            "service_name",
            "service_code",
            "description",
            "agency_responsible",
            "service_notice",
            "requested_datetime",
            "updated_datetime",
            "expected_datetime",
            "address",
            "address_id",
            "zipcode",
            "lat",
            "long",
            "media_url",
        ],
        # No other field: above all, never a resident's name, email or phone.
        "additionalProperties": False,
        "properties": {
            "service_request_id": STRING,
            "status": {"type": "string", "enum": ["open", "closed"]},
            "status_notes": TEXT,
            "service_name": STRING,
            "service_code": STRING,
            "description": TEXT,
            "agency_responsible": TEXT,
            "service_notice": TEXT,
            "requested_datetime": DATETIME,
            "updated_datetime": _nullable(DATETIME),
            "expected_datetime": _nullable(DATETIME),
            "address": TEXT,
            "address_id": TEXT,
            "zipcode": TEXT,
            "lat": _nullable({"type": "number", "minimum": -90, "maximum": 90}),
            "long": _nullable({"type": "number", "minimum": -180, "maximum": 180}),
            "media_url": TEXT,
            "notes": {
                "type": "array",
                "description": "extensions=true: public updates.",
                "items": {"$ref": "#/components/schemas/Note"},
            },
            "extended_attributes": {
                "type": "object",
                "description": "extensions=true: how it was filed and its public photos.",
                "properties": {
                    "channel": STRING,
                    "photos": {
                        "type": "array",
                        "description": "Public photo URLs.",
                        "items": STRING,
                    },
                },
            },
        },
    },
    "ServiceRequests": {"type": "array", "items": {"$ref": "#/components/schemas/ServiceRequest"}},
    "PostedRequest": {
        "type": "object",
        "required": ["service_notice", "account_id"],
        "additionalProperties": False,
        "properties": {
            "service_request_id": STRING,
            "token": STRING,
            "service_notice": TEXT,
            "account_id": TEXT,
        },
        "anyOf": [{"required": ["service_request_id"]}, {"required": ["token"]}],
    },
    "PostedRequests": {
        "type": "array",
        "minItems": 1,
        "maxItems": 1,
        "items": {"$ref": "#/components/schemas/PostedRequest"},
    },
    "Token": {
        "type": "object",
        "required": ["service_request_id", "token"],
        "additionalProperties": False,
        "properties": {"service_request_id": TEXT, "token": STRING},
    },
    "Tokens": {"type": "array", "minItems": 1, "items": {"$ref": "#/components/schemas/Token"}},
}

# -- parameters ---------------------------------------------------------------------------

JURISDICTION = {
    "name": "jurisdiction_id",
    "in": "query",
    "required": False,
    "schema": STRING,
    "description": "This server's jurisdiction; may be omitted. Any other value is a 404.",
}
API_KEY_QUERY = {
    "name": "api_key",
    "in": "query",
    "required": False,
    "schema": STRING,
    "description": "The key (from the query string or the form body). Missing or invalid: 403.",
}
EXTENSIONS = {
    "name": "extensions",
    "in": "query",
    "required": False,
    "schema": {"type": "string", "enum": ["true", "false"]},
    "description": "true adds the public update history (notes) and extended_attributes.",
}


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


def _path(name: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "schema": STRING,
        "description": description,
    }


LIST_FILTERS = [
    _query(
        "service_request_id",
        STRING,
        "Comma-separated ids; when given, every other filter is ignored.",
    ),
    _query("service_code", STRING, "Comma-separated service codes."),
    _query("status", STRING, "open or closed (comma-separated)."),
    _query(
        "start_date",
        DATETIME,
        "Earliest requested_datetime. The span to end_date is at most 90 days.",
    ),
    _query("end_date", DATETIME, "Latest requested_datetime. By default the last 90 days."),
    _query("page", {"type": "integer", "minimum": 1}, "Pagination extension: page number."),
    _query(
        "page_size",
        {"type": "integer", "minimum": 1, "maximum": PAGE_SIZE_MAX},
        f"Pagination extension: rows per page (at most {PAGE_SIZE_MAX:,}).",
    ),
    EXTENSIONS,
]

POST_FIELDS: dict[str, Any] = {
    "api_key": STRING,
    "jurisdiction_id": STRING,
    "service_code": STRING,
    "lat": {"type": "number", "description": "With long; or address_string, or address_id."},
    "long": {"type": "number"},
    "address_string": STRING,
    "address_id": STRING,
    "email": STRING,
    "device_id": STRING,
    "account_id": STRING,
    "first_name": STRING,
    "last_name": STRING,
    "phone": STRING,
    "description": {"type": "string", "maxLength": DESCRIPTION_MAX},
    "media_url": STRING,
}
ATTRIBUTE_VALUE = {
    "description": "attribute[CODE]=v, and for lists attribute[CODE][]=a&attribute[CODE][]=b "
    "(a repeated attribute[CODE] is accepted too).",
    "oneOf": [STRING, {"type": "array", "items": STRING}],
}
POST_FORM = {
    "type": "object",
    "required": ["service_code"],
    "properties": POST_FIELDS,
    "additionalProperties": ATTRIBUTE_VALUE,
}
POST_MULTIPART = {
    "type": "object",
    "required": ["service_code"],
    "properties": {
        **POST_FIELDS,
        "media": {
            "type": "array",
            "description": "Photos as file fields (JPEG, PNG; any field name is accepted).",
            "items": {"type": "string", "format": "binary"},
        },
    },
    "additionalProperties": ATTRIBUTE_VALUE,
}

# -- operations ---------------------------------------------------------------------------

ERROR_STATUSES = {
    "400": "Anything else wrong with the request (one error entry per problem found).",
    "403": "A missing, invalid or revoked api_key.",
    "404": "An unknown resource, service_code, request, token or jurisdiction_id.",
    "429": "Too many requests for this key or address.",
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
) -> dict[str, Any]:
    responses = {ok_status: {"description": summary, "content": _body(fmt, ok)}}
    for status, description in {**ERROR_STATUSES, **(extra_errors or {})}.items():
        responses[status] = {"description": description, "content": _body(fmt, "Errors")}
    operation: dict[str, Any] = {
        "operationId": f"{operation_id}{fmt.capitalize()}",
        "summary": summary,
        "tags": ["GeoReport v2"],
        "parameters": parameters,
        "responses": responses,
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
                parameters=[JURISDICTION],
                summary="Service discovery: contact, key service and this endpoint's formats.",
            )
        }
        paths[f"{PREFIX}/services.{fmt}"] = {
            "get": _operation(
                fmt,
                operation_id="getServices",
                ok="Services",
                parameters=[JURISDICTION],
                summary="Every active service (category).",
            )
        }
        paths[f"{PREFIX}/services/{{service_code}}.{fmt}"] = {
            "get": _operation(
                fmt,
                operation_id="getServiceDefinition",
                ok="ServiceDefinition",
                parameters=[_path("service_code", "A service_code from services."), JURISDICTION],
                summary="A service's definition: the attributes the request form asks.",
            )
        }
        paths[f"{PREFIX}/requests.{fmt}"] = {
            "get": _operation(
                fmt,
                operation_id="getServiceRequests",
                ok="ServiceRequests",
                parameters=[JURISDICTION, *LIST_FILTERS],
                summary="Public service requests, newest first (at most 1,000 a page).",
            ),
            "post": _operation(
                fmt,
                operation_id="postServiceRequest",
                ok="PostedRequests",
                parameters=[JURISDICTION, API_KEY_QUERY],
                extra_errors={"413": "The body (photos included) is too large."},
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
                ],
                summary="One public service request, as a collection of one.",
            )
        }
        paths[f"{PREFIX}/tokens/{{token}}.{fmt}"] = {
            "get": _operation(
                fmt,
                operation_id="getToken",
                ok="Tokens",
                parameters=[_path("token", "A token from a POST."), JURISDICTION],
                summary="The service_request_id a POST's token became.",
            )
        }
    return paths


OPENAPI: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {
        "title": "Open311 GeoReport v2",
        "version": "2",
        "description": "A GeoReport v2 server (" + SPECIFICATION + "), in XML (the spec's "
        "required format) and JSON, chosen only by the .xml or .json suffix. "
        "Collections are top-level JSON arrays; errors are a collection of "
        "{code, description} for every method and format. An empty parameter "
        "is treated as an absent one. Extensions: page and page_size, "
        "extensions=true, photos as multipart file fields.",
    },
    "externalDocs": {"url": SPECIFICATION},
    "servers": [{"url": "/"}],
    "tags": [{"name": "GeoReport v2"}],
    "paths": _paths(),
    "components": {"schemas": SCHEMAS},
}
_DOCUMENT = json.dumps(OPENAPI, ensure_ascii=False)


@bp.get("/openapi.json")
def openapi() -> Response:
    """The OpenAPI document (the same bytes every time, cacheable for an hour)."""
    response = Response(_DOCUMENT, content_type="application/json; charset=utf-8")
    response.cache_control.public = True
    response.cache_control.max_age = 3600
    return response
