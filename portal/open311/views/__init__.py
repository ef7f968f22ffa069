"""Open311's web layer, one module per blueprint: ``api`` (the GeoReport v2 API: reads in
``api``, POST in ``api_post``, the OpenAPI document in ``api_openapi``, the XML and JSON
bodies in ``api_formats``) and ``keys`` (admins issue and revoke API keys)."""
