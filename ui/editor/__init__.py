"""The editor's pure logic: workflow definitions as the canvas sees them, and forms from JSON schemas.

Nothing here talks to the API or to Reflex; the state classes in ui/state/ do.
"""
