"""Assistance on the city's own machine (issue 22): suggestions that help a person decide,
trained locally on the city's own data, never acting alone and failing open (a missing,
corrupt or switched-off model leaves every page working as without it)."""
