"""Reflex state classes, one per feature. They talk to the REST API through ui.api_client only."""
