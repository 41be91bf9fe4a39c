"""The templates gallery: workflow files shipped in ``gallery/``, listed, shown and turned into workflows.

Templates are read-only and the same for every team; using one creates a draft workflow in the
caller's team through the workflows service (the same checks as saving). Credential slots are
left empty, for the user to pick: ``credential_needs`` names them.
"""

from __future__ import annotations

import copy
import functools
import json
import secrets
from pathlib import Path

from pydantic import ValidationError
from sqlalchemy.orm import Session

from backend.credentials.registry import default_registry as credential_types
from backend.errors import NotFound
from backend.templates.schemas import CredentialNeed, NodeOut, TemplateFile, TemplateOut, TemplateSummary
from backend.workflows import service as workflows
from backend.workflows.models import Workflow
from nodes.sdk import default_registry

GALLERY = Path(__file__).with_name("gallery")


class BrokenTemplate(Exception):
    """A gallery file does not parse or does not fit TemplateFile: a bug in the repository, not user input."""


@functools.cache
def gallery() -> dict[str, TemplateFile]:
    """Every template by id, in file-name order; a broken file raises naming the file and what is wrong."""
    templates: dict[str, TemplateFile] = {}
    for path in sorted(GALLERY.glob("*.json")):
        try:
            template = TemplateFile.model_validate(json.loads(path.read_text(encoding="utf-8")))
        except (json.JSONDecodeError, ValidationError) as exc:
            raise BrokenTemplate(f"template file {path.name} is not valid: {exc}") from None
        if template.id != path.stem:
            raise BrokenTemplate(f"template file {path.name} has id {template.id!r}; the id must be the file name")
        templates[template.id] = template
    return templates


def get_template(template_id: str) -> TemplateFile:
    template = gallery().get(template_id)
    if template is None:
        raise NotFound(f"template {template_id[:80]!r} not found; GET /api/v1/templates lists them")
    return template


def list_templates(*, search: str | None = None, category: str | None = None) -> list[TemplateSummary]:
    """Summaries matching ``search`` (name, description, tags, node names; any case) and ``category``."""
    words = (search or "").lower().split()
    found = []
    for template in gallery().values():
        if category and template.category.lower() != category.lower():
            continue
        summary = summarise(template)
        text = " ".join([template.name, template.description, template.category, *template.tags,
                         *summary.node_types]).lower()
        if all(word in text for word in words):
            found.append(summary)
    return found


def categories() -> list[str]:
    return sorted({t.category for t in gallery().values()})


def summarise(template: TemplateFile) -> TemplateSummary:
    nodes = template.workflow.get("nodes", [])
    names = list(dict.fromkeys(_node_class(n).display_name for n in nodes))
    return TemplateSummary(id=template.id, name=template.name, category=template.category,
                           description=template.description, tags=template.tags, node_types=names,
                           credentials=credential_needs(template.workflow))


def detail(template: TemplateFile) -> TemplateOut:
    nodes = template.workflow.get("nodes", [])
    by_id = {n["id"]: n["name"] for n in nodes}
    return TemplateOut(
        **summarise(template).model_dump(), sample_input=template.sample_input,
        definition=copy.deepcopy(template.workflow),
        nodes=[NodeOut(name=n["name"], type=n["type"], display_name=_node_class(n).display_name,
                       icon=_node_class(n).icon, position=tuple(n.get("position", (0, 0)))) for n in nodes],
        connections=[{"from": by_id[c["from"]], "output": c.get("output", "main"), "to": by_id[c["to"]]}
                     for c in template.workflow.get("connections", [])])


def credential_needs(definition: dict) -> list[CredentialNeed]:
    """Every credential slot of the definition's nodes that has no credential chosen."""
    types = credential_types()
    needs = []
    for node in definition.get("nodes", []):
        for slot, accepted in _node_class(node).credential_slots.items():
            if slot not in (node.get("credentials") or {}):
                needs.append(CredentialNeed(node=node["name"], slot=slot,
                                            types=[types.get(name).display_name for name in accepted]))
    return needs


def use_template(session: Session, template_id: str, *, team_id: str, user_id: str | None,
                 name: str | None = None) -> Workflow:
    """A new draft workflow in ``team_id`` from the template, with webhook paths of its own."""
    template = get_template(template_id)
    return workflows.create_workflow(
        session, team_id=team_id, user_id=user_id, name=name or template.name,
        definition=own_webhook_paths(copy.deepcopy(template.workflow)), description=template.description,
        tags=template.tags[:20], message=f"created from template {template.id}")


def own_webhook_paths(definition: dict) -> dict:
    """Webhook paths with a random suffix on their first segment ('orders' -> 'orders-3f9a1c2b').

    Two teams using the same template then never collide when both activate it.
    """
    for node in definition.get("nodes", []):
        if node.get("type") == "webhook" and node.get("parameters", {}).get("path"):
            first, _, rest = node["parameters"]["path"].strip("/").partition("/")
            node["parameters"]["path"] = f"{first}-{secrets.token_hex(4)}" + (f"/{rest}" if rest else "")
    return definition


def _node_class(node: dict):
    return default_registry().get(node["type"], node.get("version"))
