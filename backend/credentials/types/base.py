"""The ``CredentialType`` base class. Declarations are checked when the class is defined.

A credential type is one class (like n8n's ``*.credentials.ts``)::

    class ApiKeyHeader(CredentialType):
        type = "api_key_header"
        display_name = "API key in a header"
        Fields = ApiKeyHeaderFields          # pydantic model; secrets typed SecretStr via secret()

        def inject(self, values):           # what a node receives from ctx.credentials(slot)
            return {"headers": {values.header_name: values.api_key.get_secret_value()}}

        async def test(self, values):       # a real request, bounded by test_timeout_s
            return await probe_url(values.test_url, self.inject(values)["headers"], self.test_timeout_s)

Then list the class in ``backend/credentials/registry.py``.
"""

from __future__ import annotations

import inspect
import re
import typing
from dataclasses import dataclass
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, SecretStr

_TYPE_NAME = re.compile(r"^[a-z][a-z0-9_]{1,63}$")
_ALLOWED_ATTRS = {
    "type", "display_name", "description", "icon", "documentation_url", "Fields", "test_timeout_s",
    "inject", "test", "refresh",
}


class CredentialFields(BaseModel):
    """Base of every credential type's fields; unknown fields are an error."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def secret(default: Any = ..., *, description: str = "", managed: bool = False) -> Any:
    """A secret field (type it ``SecretStr``): never returned by the API, shown as a password box.

    ``managed=True`` marks values the platform fills in itself (OAuth2 tokens), which the
    editor does not render as inputs.
    """
    extra = {"secret": True, "writeOnly": True, **({"managed": True} if managed else {})}
    required = {"min_length": 1} if default is ... else {}  # a required secret may not be empty
    return Field(default, description=description, json_schema_extra=extra, **required)


@dataclass(frozen=True)
class TestResult:
    __test__ = False  # not a pytest test class

    ok: bool
    message: str


class CredentialProblem(Exception):  # noqa: N818 - reads as "the credential has a problem"
    """A credential cannot be used as stored (not connected yet, token refused...).

    The message is shown to users: say what to do, never include a value.
    """


class CredentialType:
    """Base class of credential types. Subclass it, set the attributes, write ``inject`` and ``test``."""

    type: ClassVar[str]
    display_name: ClassVar[str]
    description: ClassVar[str] = ""
    icon: ClassVar[str] = "key"
    documentation_url: ClassVar[str] = ""
    Fields: ClassVar[type[CredentialFields]]
    test_timeout_s: ClassVar[float] = 10.0

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _check_declaration(cls)

    def inject(self, values: Any) -> dict:
        """What a node gets from ``ctx.credentials(slot)`` (see nodes/builtin/_http_auth.py)."""
        raise NotImplementedError  # pragma: no cover - _check_declaration rejects classes without it

    async def test(self, values: Any) -> TestResult:
        """Make a real request or connection with these values, within ``test_timeout_s``."""
        raise NotImplementedError  # pragma: no cover

    def refresh(self, values: Any, now: float) -> Any | None:
        """New values to store before use (e.g. a renewed OAuth2 token), or None when they are fine."""
        return None

    @classmethod
    def secret_fields(cls) -> list[str]:
        return [name for name, f in cls.Fields.model_fields.items() if _flagged_secret(f.json_schema_extra)]

    @classmethod
    def describe(cls) -> dict:
        """The catalog entry the editor renders a credential form from."""
        return {"type": cls.type, "display_name": cls.display_name, "description": cls.description,
                "icon": cls.icon, "documentation_url": cls.documentation_url,
                "secret_fields": cls.secret_fields(), "fields_schema": cls.Fields.model_json_schema()}


def _flagged_secret(extra: object) -> bool:
    return isinstance(extra, dict) and extra.get("secret") is True


def _holds_secret_str(annotation: object) -> bool:
    return annotation is SecretStr or any(_holds_secret_str(a) for a in typing.get_args(annotation))


def _check_declaration(cls: type[CredentialType]) -> None:
    where = f"{cls.__module__}.{cls.__qualname__}"

    def fail(problem: str) -> None:
        raise TypeError(f"credential type {where}: {problem}")

    unknown = {k for k in cls.__dict__ if not k.startswith("_") and k not in _ALLOWED_ATTRS
               and not isinstance(cls.__dict__[k], classmethod | staticmethod)}
    if unknown:
        fail(f"unknown attribute(s) {sorted(unknown)}; allowed: {sorted(_ALLOWED_ATTRS)} "
             "(helpers go in the module, prefixed with _)")
    if not isinstance(getattr(cls, "type", None), str) or not _TYPE_NAME.match(cls.type):
        fail("set `type` to a lower_snake_case name such as 'api_key_header'")
    if not isinstance(getattr(cls, "display_name", None), str) or not cls.display_name:
        fail("set `display_name` to the name shown in the editor")
    fields = getattr(cls, "Fields", None)
    if not (isinstance(fields, type) and issubclass(fields, CredentialFields)):
        fail("`Fields` must subclass backend.credentials.types.CredentialFields")
    if cls.inject is CredentialType.inject or inspect.iscoroutinefunction(cls.inject):
        fail("define `def inject(self, values) -> dict` (a plain function, not async)")
    if cls.test is CredentialType.test or not inspect.iscoroutinefunction(cls.test):
        fail("define `async def test(self, values) -> TestResult`")
    if inspect.iscoroutinefunction(cls.refresh):
        fail("`refresh` must be a plain function (it runs in a worker thread)")
    _check_secrets(fields, fail)


def _check_secrets(fields: type[CredentialFields], fail) -> None:
    for name, info in fields.model_fields.items():
        typed, flagged = _holds_secret_str(info.annotation), _flagged_secret(info.json_schema_extra)
        if typed and not flagged:
            fail(f"field {name!r} is a SecretStr but not declared with secret(); write `{name}: SecretStr = "
                 "secret(...)` so the API and the editor treat it as a secret")
        if flagged and not typed:
            fail(f"field {name!r} is declared secret() but typed {info.annotation!r}; type it SecretStr "
                 "(or SecretStr | None) so it never shows in a repr or a log")


def plain_values(values: CredentialFields) -> dict:
    """The JSON-able dict to encrypt: secrets unwrapped, unset optional fields included as None."""
    return {name: value.get_secret_value() if isinstance(value, SecretStr) else value
            for name, value in values.model_dump(mode="python").items()}
