"""The service-level back office: editing business calendars and their closures, SLA policies
and each department's calendar, breach actions and assignment mode (``common``, ``calendars``,
``policies``, ``departments``; no Flask there), the admins' pages and forms for them (``views``,
``calendar_views``, ``forms``), and supervisors' escalations page (``escalation_views``,
``escalation_forms``).
"""
