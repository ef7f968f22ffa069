"""Views of the assistance features (issue 22)."""
