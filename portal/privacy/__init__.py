"""Residents' data rights: download my data, delete my account, retention of closed requests."""
