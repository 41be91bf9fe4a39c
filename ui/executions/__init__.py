"""The executions pages' pure logic: API answers shaped for tables, charts and the node data browser.

Nothing here talks to the API or to Reflex; the state classes in ui/state/ do.
"""
