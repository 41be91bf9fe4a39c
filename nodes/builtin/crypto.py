"""The Crypto node: hashes, HMAC signatures and random UUIDs."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import uuid
from typing import Any, Literal

from pydantic import Field, model_validator

from nodes.builtin._fields import FieldPathError, jsonable, new_item, set_field
from nodes.sdk import Node, NodeParameters, NodeUserError, show_if


class CryptoParameters(NodeParameters):
    operation: Literal["hash", "hmac", "uuid"] = Field(
        "hash", description="hash: digest of the value; hmac: keyed signature of the value; uuid: a random UUID v4"
    )
    value: Any = Field(None, description="hash/hmac: text to digest; other values are digested as compact JSON",
                       json_schema_extra=show_if(operation=["hash", "hmac"]))
    algorithm: Literal["md5", "sha1", "sha256", "sha512"] = Field("sha256", description="hash/hmac: the digest",
                                                                  json_schema_extra=show_if(operation=["hash", "hmac"]))
    secret: str = Field("", description="hmac: the key (better an expression reading a variable than a literal)",
                        json_schema_extra=show_if(operation=["hmac"]))
    encoding: Literal["hex", "base64"] = Field("hex", description="hash/hmac: how the digest is written",
                                               json_schema_extra=show_if(operation=["hash", "hmac"]))
    output_field: str = Field("hash", min_length=1, description="Field the result is written to")

    @model_validator(mode="after")
    def _secret_for_hmac(self) -> CryptoParameters:
        if self.operation == "hmac" and not self.secret:
            raise ValueError("operation 'hmac' needs a secret (the key both sides share)")
        return self


class Crypto(Node):
    type = "crypto"
    display_name = "Crypto"
    group = "data"
    side_effects = False
    icon = "fingerprint"
    description = "Hashes values (MD5, SHA), signs them with HMAC, or generates UUIDs."
    Parameters = CryptoParameters

    async def execute(self, ctx, items):
        out = []
        for index, item in enumerate(items):
            params = ctx.params(index)
            data = copy.deepcopy(item.get("json", {}))
            try:
                set_field(data, params.output_field, _compute(params))
            except FieldPathError as exc:
                raise NodeUserError(f"item {index}: {exc}", item_index=index) from None
            out.append(new_item(data, item))
        return out


def _compute(params: CryptoParameters) -> str:
    if params.operation == "uuid":
        return str(uuid.uuid4())
    message = _bytes(params.value)
    if params.operation == "hmac":
        digest = hmac.new(params.secret.encode(), message, params.algorithm).digest()
    else:
        digest = hashlib.new(params.algorithm, message).digest()
    return digest.hex() if params.encoding == "hex" else base64.b64encode(digest).decode()


def _bytes(value: Any) -> bytes:
    if value is None:
        return b""
    if isinstance(value, str):
        return value.encode()
    return json.dumps(jsonable(value), sort_keys=True, separators=(",", ":")).encode()
