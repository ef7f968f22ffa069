"""The components of the Open311 OpenAPI document: its schemas and its parameters.

``SCHEMAS`` holds the JSON schemas of every resource (discovery, services, service definitions,
requests, posted requests, tokens and the error collection), and the parameters shared by the
operations: the jurisdiction, the api_key, the list filters and the POST's form and multipart
bodies. Plain data built once at import; ``portal.open311.views.api_openapi`` assembles the
document.
"""

from __future__ import annotations

from typing import Any

#: The POST's free-form text limit (the same as the web form's).
DESCRIPTION_MAX = 4000
PAGE_SIZE_MAX = 1000


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
            "private": {
                "type": "boolean",
                "description": "Extension: requests in a private service are never in public "
                "lists or on GET of one request, except for the api_key that filed them "
                "(send it as api_key or X-Api-Key to read their status back).",
            },
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
                "description": "extensions=true: how it was filed, its public photos and the "
                "city asset it names.",
                "properties": {
                    "channel": STRING,
                    "photos": {
                        "type": "array",
                        "description": "Public photo URLs.",
                        "items": STRING,
                    },
                    "asset": {
                        "type": "object",
                        "description": "The city asset picked (a service with an asset layer: "
                        "its attribute asset_id): its id in the city's data and its label. "
                        "Absent when none was picked.",
                        "required": ["id", "label"],
                        "properties": {"id": STRING, "label": STRING},
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
API_KEY_READ = {
    "name": "api_key",
    "in": "query",
    "required": False,
    "schema": STRING,
    "description": "Optional on reads (or the X-Api-Key header): a valid key reads under its "
    "own rate limit instead of the per-address one.",
}
#: The two ways to send a key (a POST may also send api_key as a form field of its body,
#: which OpenAPI's apiKey schemes cannot say: API_KEY_QUERY and the form schemas say it).
SECURITY_SCHEMES = {
    "ApiKeyHeader": {
        "type": "apiKey",
        "in": "header",
        "name": "X-Api-Key",
        "description": "The key the city issued to the app, in the X-Api-Key header.",
    },
    "ApiKeyQuery": {
        "type": "apiKey",
        "in": "query",
        "name": "api_key",
        "description": "The key the city issued to the app, as the api_key parameter (in the "
        "query string, or a POST's form body).",
    },
}
#: A call that needs a key (a POST, or a reporter's survey): either scheme.
KEY_REQUIRED: list[dict[str, list[str]]] = [{"ApiKeyHeader": []}, {"ApiKeyQuery": []}]
#: A read: no key (the per-address limit), or either scheme (the key's own read limit).
KEY_OPTIONAL: list[dict[str, list[str]]] = [{}, *KEY_REQUIRED]
LANG = {
    "name": "lang",
    "in": "query",
    "required": False,
    "schema": {"type": "string", "enum": ["en", "es"]},
    "description": "The language of names and texts in the answer.",
}
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]{16,128}$"},
    "description": "Optional: a retry with the same key and body gets the first answer again "
    "(with Idempotent-Replayed: true) and files nothing; the same key with another body is a "
    "409. Kept 24 hours, per API key.",
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
    _query(
        "updated_after",
        DATETIME,
        "Sync extension: only requests updated strictly after this time. With either "
        "updated_ parameter there is no default 90-day window and the list is in update "
        "order, oldest change first.",
    ),
    _query("updated_before", DATETIME, "Sync extension: only requests updated at or before."),
    _query(
        "lat",
        {"type": "number", "minimum": -90, "maximum": 90},
        "With long: only requests within radius metres of this point.",
    ),
    _query("long", {"type": "number", "minimum": -180, "maximum": 180}, "With lat."),
    _query(
        "radius",
        {"type": "number", "minimum": 1, "maximum": 10000},
        "Metres around lat/long (default 1,000, at most 10,000).",
    ),
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
    "(a repeated attribute[CODE] is accepted too). A service with an asset layer declares "
    "attribute asset_id: the id of one of the layer's assets (attribute[asset_id]=SL-1042); an "
    "id that is not one of them is a 400.",
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
