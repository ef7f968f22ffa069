"""The mail pages, one module per blueprint: ``original`` (staff open the original of an email
that reached a case) and ``admin`` (admins: every inbound message, what needs a person first,
processing a parked or failed one again; filters in ``admin_forms``)."""
