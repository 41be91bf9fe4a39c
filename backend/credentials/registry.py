"""The one list of credential types. A new type is a module in ``types/`` plus one line here."""

from __future__ import annotations

import functools
from collections.abc import Iterable

from backend.credentials.types.airtable import Airtable
from backend.credentials.types.api_key_header import ApiKeyHeader
from backend.credentials.types.aws_s3 import AwsS3
from backend.credentials.types.base import CredentialType
from backend.credentials.types.bearer_token import BearerToken
from backend.credentials.types.discord import DiscordBot, DiscordWebhook
from backend.credentials.types.github import GitHub
from backend.credentials.types.gitlab import GitLab
from backend.credentials.types.google_sheets import GoogleSheets
from backend.credentials.types.http_basic import HttpBasic
from backend.credentials.types.hubspot import HubSpot
from backend.credentials.types.imap import Imap
from backend.credentials.types.jira import Jira
from backend.credentials.types.kafka import Kafka
from backend.credentials.types.mysql import MySql
from backend.credentials.types.notion import Notion
from backend.credentials.types.oauth2 import OAuth2
from backend.credentials.types.openai import OpenAi
from backend.credentials.types.postgres import Postgres
from backend.credentials.types.rabbitmq import RabbitMq
from backend.credentials.types.redis import Redis
from backend.credentials.types.sendgrid import SendGrid
from backend.credentials.types.slack import Slack
from backend.credentials.types.smtp import Smtp
from backend.credentials.types.ssh import Ssh
from backend.credentials.types.stripe import Stripe
from backend.credentials.types.telegram import Telegram
from backend.credentials.types.twilio import Twilio
from backend.errors import UserError

CREDENTIAL_TYPES: list[type[CredentialType]] = [
    # HTTP authentication (what the HTTP Request node's "auth" slot accepts)
    ApiKeyHeader, HttpBasic, BearerToken, OAuth2,
    # services
    Smtp, Postgres, Redis, AwsS3, Slack, Stripe, Kafka, MySql,
    OpenAi,
    GitHub, GitLab, Jira, Notion, Airtable, GoogleSheets,
    Telegram, DiscordWebhook, DiscordBot, Twilio, SendGrid, HubSpot,
    Ssh,
    Imap,
    RabbitMq,
]


class UnknownCredentialType(UserError):
    pass


class CredentialTypeRegistry:
    def __init__(self, classes: Iterable[type[CredentialType]] = ()) -> None:
        self._by_name: dict[str, type[CredentialType]] = {}
        for cls in classes:
            self.add(cls)

    def add(self, cls: type[CredentialType]) -> None:
        if not (isinstance(cls, type) and issubclass(cls, CredentialType)):
            raise TypeError(f"{cls!r} is not a CredentialType subclass; only credential types can be registered")
        existing = self._by_name.get(cls.type)
        if existing is not None and existing is not cls:
            raise ValueError(
                f"credential type {cls.type!r} is declared twice: {existing.__module__}.{existing.__qualname__} "
                f"and {cls.__module__}.{cls.__qualname__}; give the new one another `type` name"
            )
        self._by_name[cls.type] = cls

    def get(self, name: str) -> CredentialType:
        cls = self._by_name.get(name)
        if cls is None:
            raise UnknownCredentialType(f"unknown credential type {name!r}; known types: "
                                        f"{', '.join(sorted(self._by_name))}")
        return cls()

    def names(self) -> list[str]:
        return sorted(self._by_name)

    def catalog(self) -> list[dict]:
        return [self._by_name[name].describe() for name in self.names()]


@functools.cache
def default_registry() -> CredentialTypeRegistry:
    return CredentialTypeRegistry(CREDENTIAL_TYPES)
