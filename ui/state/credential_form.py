"""The credential form, built from a credential type's JSON schema (GET /credentials/types).

Pure functions, no Reflex state: ``form_fields`` turns a type into inputs, ``values_to_send``
turns what was typed into the ``values`` the API takes. Values are never read back from
the API, so an edit form starts empty and only what is typed is sent (blank keeps).
"""

from __future__ import annotations

from dataclasses import dataclass, field

KEEP = "__keep__"  # the "keep the saved value" choice of a select in an edit form


@dataclass
class CredField:
    name: str
    label: str
    description: str = ""
    kind: str = "text"  # text | secret | integer | boolean | enum
    required: bool = False
    options: list[str] = field(default_factory=list)
    value: str = ""
    placeholder: str = ""
    saved: bool = False  # the credential holds a value for it (edit form)


def _variant(spec: dict) -> dict:
    """The non-null branch of an ``anyOf: [X, null]`` (optional fields)."""
    for option in spec.get("anyOf") or []:
        if option.get("type") != "null":
            return {**option, **{k: v for k, v in spec.items() if k != "anyOf"}}
    return spec


def _kind(spec: dict) -> str:
    if spec.get("secret"):
        return "secret"
    if "enum" in spec:
        return "enum"
    return {"integer": "integer", "number": "integer", "boolean": "boolean"}.get(spec.get("type"), "text")


def _label(name: str) -> str:
    words = name.replace("_", " ")
    for short, long in (("url", "URL"), ("id", "ID"), ("tls", "TLS"), ("api", "API"), ("aws", "AWS")):
        words = " ".join(long if w == short else w for w in words.split())
    return words[:1].upper() + words[1:]


def form_fields(type_entry: dict, fields_set: list[str] | None = None) -> list[CredField]:
    """The inputs of a new credential (``fields_set`` None) or of an edit of one holding ``fields_set``."""
    schema = type_entry.get("fields_schema") or {}
    required = set(schema.get("required") or [])
    editing = fields_set is not None
    made = []
    for name, raw in (schema.get("properties") or {}).items():
        spec = _variant(raw)
        if spec.get("managed"):
            continue  # filled in by LinkFlow (OAuth2 tokens)
        kind = _kind(spec)
        saved = editing and name in fields_set
        default = spec.get("default")
        if editing:
            value = KEEP if kind in ("enum", "boolean") else ""
        else:
            value = "" if default is None else (str(default).lower() if kind == "boolean" else str(default))
        placeholder = ("Saved — leave blank to keep the saved value" if saved
                       else ("Not set" if editing else ("" if default in (None, "") else str(default))))
        options = ["true", "false"] if kind == "boolean" else [str(o) for o in spec.get("enum") or []]
        if editing and options:
            options = [KEEP, *options]
        made.append(CredField(name=name, label=_label(name), description=spec.get("description", ""), kind=kind,
                              required=name in required and not editing, options=options,
                              value=value, placeholder=placeholder, saved=saved))
    return made


def values_to_send(fields: list[CredField]) -> dict:
    """What the user typed, typed as the API wants; blanks are left out (a new form: the default
    applies; an edit: the saved value stays)."""
    values: dict = {}
    for f in fields:
        text = f.value.strip() if f.kind != "secret" else f.value
        if text == "" or text == KEEP:
            continue
        if f.kind == "integer":
            try:
                values[f.name] = int(text)
            except ValueError:
                raise ValueError(f"{f.label} must be a whole number") from None
        elif f.kind == "boolean":
            values[f.name] = text == "true"
        else:
            values[f.name] = text
    return values


def missing_required(fields: list[CredField]) -> list[str]:
    return [f.label for f in fields if f.required and not f.value.strip()]
