"""A stand-in for the Gmail API v1 (see server.py)."""
