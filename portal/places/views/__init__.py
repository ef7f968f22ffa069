"""The places pages and endpoints: address search (search.py) and the map layers (map.py)."""
