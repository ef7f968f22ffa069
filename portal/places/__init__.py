"""The city's places: address points, street centrelines and asset layers (issue 18).

Domain package (no Flask): models, the file readers (loader), normalisation and search. It sits
just above ``portal.areas`` in the import layers, so requests, casework, Open311, the city
configuration and the demo may import it, and it imports only areas, auth and core.
"""
