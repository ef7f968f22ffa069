"""The Open311 GeoReport v2 API (XML and JSON) and the API keys that may post to it."""
