"""Performance reports: department scorecards, hotspots, the public page and open data."""
