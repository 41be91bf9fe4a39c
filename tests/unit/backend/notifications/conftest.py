"""Fixtures of the notification tests: accounts through the public API and a real SMTP server."""

from __future__ import annotations

import asyncio
import socket
import threading
from email import message_from_bytes, policy
from email.message import EmailMessage

import auth_testkit
import pytest
from aiosmtpd.controller import Controller


class Inbox:
    """What a real SMTP server on 127.0.0.1 (aiosmtpd, started by the test) received."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.received = threading.Event()
        self.refuse = False

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        if self.refuse:
            return "451 Requested action aborted: local error in processing"
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        self.received.set()
        return "250 OK"


@pytest.fixture
def smtp(configure) -> Inbox:
    inbox = Inbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    configure(MAIL_SMTP_HOST="127.0.0.1", MAIL_SMTP_PORT=str(port), MAIL_SMTP_STARTTLS="false")
    yield inbox
    controller.stop()


@pytest.fixture
def signup(api):
    return lambda email, **kw: auth_testkit.signup(api, email, **kw)


@pytest.fixture
async def bus():
    """An in-memory bus with the notifications consumer running on it."""
    from backend.events.bus import InMemoryBus
    from backend.events.consumers import RetryPolicy, run_consumer
    from backend.notifications.consumers import CONSUMER

    bus, stop = InMemoryBus(), asyncio.Event()
    task = asyncio.create_task(run_consumer(bus, CONSUMER, stop, RetryPolicy(attempts=2, first_delay_s=0)))
    await asyncio.sleep(0)
    yield bus
    stop.set()
    await task
