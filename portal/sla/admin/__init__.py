"""The service-level back office: editing business calendars and their closures, SLA policies
and each department's calendar, breach actions and assignment mode (``common``, ``calendars``,
``policies``, ``departments``; no Flask there). The admins' pages and forms for them are in
``portal.sla.views.admin`` (``admin_calendars``, ``admin_forms``), and supervisors'
escalations page in ``portal.sla.views.escalations``.
"""
