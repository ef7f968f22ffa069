"""The OpenAPI components of FixMyStreet's ``servicerequestupdates`` extension (read the public
updates of requests, post the reporter's reply): schemas, parameters and the reply's form.
Plain data; ``portal.open311.views.api_openapi`` puts the paths together.
"""

from __future__ import annotations

from typing import Any

from portal.open311.openapi_components import DATETIME, STRING, TEXT, _query
from portal.open311.updates import (
    CLIENT_ID_MAX,
    MAX_PAGE_SIZE,
    MAX_WINDOW,
    MEDIA_URL_MAX,
    STATUS_NAMES,
    UPDATE_KINDS,
)
from portal.requests.updates import MAX_MESSAGE
from portal.surveys.schema import KINDS

UPDATE_SCHEMAS: dict[str, Any] = {
    "RequestUpdate": {
        "type": "object",
        "required": [
            "update_id",
            "service_request_id",
            "status",
            "external_status_code",
            "updated_datetime",
            "description",
            "update_type",
            "author",
        ],
        "additionalProperties": False,
        "properties": {
            "update_id": STRING,
            "service_request_id": STRING,
            "status": {
                "type": "string",
                "enum": sorted(set(STATUS_NAMES.values())),
                "description": "The request's status after this update, in FixMyStreet's "
                "update vocabulary.",
            },
            "external_status_code": {
                "type": "string",
                "enum": sorted(STATUS_NAMES),
                "description": "The same status in this portal's own words.",
            },
            "updated_datetime": DATETIME,
            "description": STRING,
            "media_url": {
                **STRING,
                "description": "A photo this update added, or the link the app sent with it; "
                "absent when there is none.",
            },
            "update_type": {"type": "string", "enum": list(UPDATE_KINDS)},
            "author": {
                "type": "string",
                "enum": ["resident", "city"],
                "description": "Who wrote it: the reporter or the city; never a name.",
            },
        },
    },
    "RequestUpdates": {"type": "array", "items": {"$ref": "#/components/schemas/RequestUpdate"}},
    "PostedUpdate": {
        "type": "object",
        "required": ["update_id"],
        "additionalProperties": False,
        "properties": {"update_id": STRING},
    },
    "PostedUpdates": {
        "type": "array",
        "minItems": 1,
        "maxItems": 1,
        "items": {"$ref": "#/components/schemas/PostedUpdate"},
    },
}

UPDATE_FILTERS = [
    _query(
        "start_date",
        DATETIME,
        "Updates made after this time. Neither date: the last day; one: a day from or to it; "
        f"start_date and end_date at most {MAX_WINDOW.days} days apart.",
    ),
    _query("end_date", DATETIME, "Updates made at or before this time."),
    _query("page", {"type": "integer", "minimum": 1}, "Pagination extension: page number."),
    _query(
        "page_size",
        {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE},
        f"Pagination extension: updates per page (default 200, at most {MAX_PAGE_SIZE:,}).",
    ),
]

REPLY_FIELDS: dict[str, Any] = {
    "api_key": STRING,
    "jurisdiction_id": STRING,
    "service_request_id": STRING,
    "token": {
        "type": "string",
        "description": "The reporter's token for this request: the token POST requests "
        "answered with, or the one in the private tracking link the portal emailed. "
        "A wrong or missing token is a 403.",
    },
    "description": {"type": "string", "maxLength": MAX_MESSAGE, "description": "The reply."},
    "status": {
        "type": "string",
        "description": "Optional: open (or reopen) says the problem is not fixed and reopens a "
        "resolved or closed request within the portal's reopening window. A resident cannot "
        "close a request: any other value is a 400.",
    },
    "update_id": {
        "type": "string",
        "maxLength": CLIENT_ID_MAX,
        "description": "The app's own id for this update: a retry with the same id returns the "
        "update already made (200) and adds nothing.",
    },
    "media_url": {"type": "string", "maxLength": MEDIA_URL_MAX},
    "email": {"type": "string", "description": "Accepted (FixMyStreet sends it), not used."},
    "first_name": {"type": "string", "description": "Accepted, not used."},
    "last_name": {"type": "string", "description": "Accepted, not used."},
    "updated_datetime": {
        "type": "string",
        "description": "Accepted, not used: the portal stamps its own time.",
    },
    "account_id": {"type": "string", "description": "Accepted, not used."},
}
REPLY_REQUIRED = ["service_request_id", "token", "description"]
REPLY_FORM = {"type": "object", "required": REPLY_REQUIRED, "properties": REPLY_FIELDS}
REPLY_MULTIPART = {
    "type": "object",
    "required": REPLY_REQUIRED,
    "properties": {
        **REPLY_FIELDS,
        "media": {
            "type": "array",
            "description": "Photos as file fields (JPEG, PNG; any field name is accepted).",
            "items": {"type": "string", "format": "binary"},
        },
    },
}

# -- the satisfaction survey (portal.open311.survey) -----------------------------------------

_TEXTS = {"type": "string"}
SURVEY_SCHEMAS: dict[str, Any] = {
    "SurveyQuestion": {
        "type": "object",
        "required": [
            "id",
            "kind",
            "label",
            "hint",
            "required",
            "options",
            "scale",
            "max_length",
            "show_if",
        ],
        "additionalProperties": False,
        "properties": {
            "id": {"type": "string", "description": "The form field that answers it."},
            "kind": {"type": "string", "enum": list(KINDS)},
            "label": _TEXTS,
            "hint": TEXT,
            "required": {"type": "boolean"},
            "options": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["key", "label"],
                    "additionalProperties": False,
                    "properties": {"key": STRING, "label": STRING},
                },
            },
            "scale": {
                "type": "array",
                "nullable": True,
                "description": "The values a scale or yes/no question takes.",
                "items": {"oneOf": [{"type": "integer"}, {"type": "string"}]},
            },
            "max_length": {"type": "integer", "nullable": True},
            "show_if": {
                "type": "object",
                "nullable": True,
                "description": "Asked only when this earlier question got one of these answers.",
                "required": ["question", "values"],
                "additionalProperties": False,
                "properties": {
                    "question": STRING,
                    "values": {"type": "array", "items": STRING},
                },
            },
        },
    },
    "Survey": {
        "type": "object",
        "required": [
            "service_request_id",
            "survey_key",
            "version",
            "state",
            "expires_datetime",
            "title",
            "introduction",
            "questions",
        ],
        "additionalProperties": False,
        "properties": {
            "service_request_id": STRING,
            "survey_key": STRING,
            "version": {"type": "integer"},
            "state": {
                "type": "string",
                "enum": ["open", "unknown", "expired", "answered", "cancelled"],
                "description": "Only an open survey may be answered.",
            },
            "expires_datetime": DATETIME,
            "title": STRING,
            "introduction": TEXT,
            "questions": {
                "type": "array",
                "items": {"$ref": "#/components/schemas/SurveyQuestion"},
            },
        },
    },
    "SurveyResponse": {
        "type": "object",
        "required": ["service_request_id", "reopened"],
        "additionalProperties": False,
        "properties": {
            "service_request_id": STRING,
            "reopened": {
                "type": "boolean",
                "description": "The answer said the problem is not resolved: the case reopened.",
            },
        },
    },
    "SurveyResponses": {
        "type": "array",
        "minItems": 1,
        "maxItems": 1,
        "items": {"$ref": "#/components/schemas/SurveyResponse"},
    },
}
SURVEY_TOKEN = {
    "name": "token",
    "in": "query",
    "required": True,
    "schema": STRING,
    "description": "The reporter's token for this request (from POST requests, or the private "
    "tracking link's). A wrong or missing token is a 403.",
}
SURVEY_KEY = {
    "name": "api_key",
    "in": "query",
    "required": False,
    "schema": STRING,
    "description": "The app's key (or the X-Api-Key header). Missing or invalid: 403.",
}
SURVEY_FORM = {
    "type": "object",
    "required": ["token"],
    "properties": {
        "api_key": STRING,
        "jurisdiction_id": STRING,
        "token": STRING,
    },
    "additionalProperties": {
        "description": "One field per answered question, named by its id (a multi question "
        "repeats it); the values are option keys, scale values or the text.",
        "oneOf": [STRING, {"type": "array", "items": STRING}],
    },
}
