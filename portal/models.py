"""Imports every model so the metadata is complete (Alembic and tests use this)."""

from portal.areas.models import Area
from portal.assist.models import (
    AssistModel,
    AssistTheme,
    DuplicateCandidate,
    KnowledgeArticle,
    KnowledgeArticleEvent,
    KnowledgeArticleVersion,
)
from portal.auth.models import User, UserIdentity
from portal.casework.models import ResponseTemplate, Task
from portal.casework.saved_views import SavedView
from portal.catalogue.models import CategoryQuestion, Department, ServiceCategory, ServiceGroup
from portal.city.models import CityProfile
from portal.core.audit import AuditEntry
from portal.core.db import Base
from portal.core.idempotency import IdempotencyKey
from portal.core.outbox import OutboxMessage
from portal.mail_in.models import InboundMail
from portal.notifications.models import StaffNotice
from portal.open311.models import ApiKey
from portal.ops.models import WorkerHeartbeat
from portal.outbound.models import OutboundTask
from portal.places.models import AddressPoint, Asset, AssetLayer, Street
from portal.privacy.models import DataExport, RequestRedaction
from portal.programmes.models import (
    Attendance,
    EligibilityQuestion,
    Enrolment,
    Programme,
    ProgrammeSession,
)
from portal.push.models import PushSubscription
from portal.reports.models import ReportRollup
from portal.requests.models import (
    AreaSubscription,
    Event,
    Follower,
    RequestDraft,
    RequestPhoto,
    ServiceRequest,
    Support,
)
from portal.routing.models import RoutingRule
from portal.sla.models import (
    BusinessCalendar,
    CalendarClosure,
    ForecastCalibration,
    ForecastGroup,
    SlaClock,
    SlaPolicy,
)
from portal.staff.models import StaffMembership
from portal.surveys.models import SurveyInvitation, SurveyOptOut, SurveyResponse, SurveyVersion
from portal.webhooks.models import WebhookDelivery, WebhookEndpoint

__all__ = [
    "OutboundTask",
    "AssistModel",
    "AssistTheme",
    "KnowledgeArticle",
    "KnowledgeArticleEvent",
    "KnowledgeArticleVersion",
    "DuplicateCandidate",
    "PushSubscription",
    "IdempotencyKey",
    "AddressPoint",
    "Asset",
    "AssetLayer",
    "Street",
    "DataExport",
    "RequestRedaction",
    "CityProfile",
    "ApiKey",
    "WorkerHeartbeat",
    "Attendance",
    "EligibilityQuestion",
    "Enrolment",
    "Programme",
    "ProgrammeSession",
    "ReportRollup",
    "SurveyInvitation",
    "SurveyOptOut",
    "SurveyResponse",
    "SurveyVersion",
    "BusinessCalendar",
    "CalendarClosure",
    "SlaClock",
    "ForecastGroup",
    "ForecastCalibration",
    "SlaPolicy",
    "StaffNotice",
    "Area",
    "AuditEntry",
    "ResponseTemplate",
    "RoutingRule",
    "SavedView",
    "StaffMembership",
    "Task",
    "AreaSubscription",
    "Base",
    "CategoryQuestion",
    "Department",
    "Event",
    "Follower",
    "InboundMail",
    "OutboxMessage",
    "RequestDraft",
    "RequestPhoto",
    "ServiceCategory",
    "ServiceGroup",
    "ServiceRequest",
    "Support",
    "User",
    "UserIdentity",
    "WebhookDelivery",
    "WebhookEndpoint",
]
