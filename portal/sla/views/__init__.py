"""The service-level pages, one module per blueprint: ``admin`` (admins: policies and
departments; business calendars in ``admin_calendars``; forms in ``admin_forms``) and
``escalations`` (supervisors' escalated cases; ``escalations_forms``)."""
