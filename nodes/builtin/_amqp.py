"""Connecting to RabbitMQ (AMQP 0-9-1) for the RabbitMQ node, its trigger and its credential's test.

``connect`` opens an aio-pika connection to addresses the address policy already checked, never to the
name again (a transport factory handed to aiormq); with TLS the name is still what the certificate is
checked against (SNI and host name check). ``amqp_error`` turns the client's exceptions into the node
SDK's user and transient errors, naming RabbitMQ's reply ("NOT_FOUND - no queue 'x' in vhost '/'").
"""

from __future__ import annotations

import asyncio
import functools
import ssl
from typing import TYPE_CHECKING
from urllib.parse import quote

from nodes.sdk import NodeError, NodeTransientError, NodeUserError

if TYPE_CHECKING:
    import aio_pika
    from yarl import URL

# aio_pika and aiormq are imported where they are used, not at module level (start-up time)

TIMEOUT_S = 30


def _user_closes() -> tuple[type[Exception], ...]:
    from aiormq import exceptions as amqp

    return (amqp.ChannelAccessRefused, amqp.ChannelNotFoundEntity, amqp.ChannelPreconditionFailed,
            amqp.ChannelLockedResource, amqp.ConnectionNotAllowed, amqp.ConnectionSyntaxError,
            amqp.ConnectionCommandInvalid)


def where(login: dict) -> str:
    return f"RabbitMQ {login['host']}:{login['port']} vhost {login['vhost']!r}"


def amqp_url(login: dict) -> URL:
    """The AMQP URL of a login; the virtual host is one path segment (``/`` is ``%2F``)."""
    from yarl import URL

    return URL.build(scheme="amqps" if login.get("tls") else "amqp", user=quote(login["user"], safe=""),
                     password=quote(login.get("password") or "", safe=""), host=login["host"],
                     port=int(login["port"]), path="/" + quote(login["vhost"], safe=""),
                     query_string="heartbeat=30", encoded=True)


@functools.cache
def _checked_transport() -> type:
    """The aiormq transport factory that connects to checked addresses (defined on first use, so that
    importing this module does not import aiormq)."""
    from aiormq import exceptions as amqp
    from aiormq.connection import TransportFactory

    class _CheckedTransport(TransportFactory):
        """Connects to the checked addresses in turn; TLS checks the certificate against the name."""

        def __init__(self, addresses: list[str], server_name: str, timeout_s: float) -> None:
            self.addresses, self.server_name, self.timeout_s = addresses, server_name, timeout_s

        async def create(self, url: URL, **kwargs):
            provider = kwargs.pop("ssl_context_provider", None)
            context = await provider.get_context() if url.scheme == "amqps" and provider is not None else None
            error: OSError | None = None
            for address in self.addresses:
                try:
                    return await asyncio.wait_for(asyncio.open_connection(
                        address, url.port, ssl=context, server_hostname=self.server_name if context else None),
                        self.timeout_s)
                except ssl.SSLCertVerificationError:
                    raise  # the server is there; its certificate is wrong: not worth another address or a retry
                except (OSError, TimeoutError) as exc:
                    error = exc if isinstance(exc, OSError) else OSError(f"timed out after {self.timeout_s}s")
            raise amqp.AMQPConnectionError(f"could not connect: {error}")

    return _CheckedTransport


async def connect(login: dict, addresses: list[str], *, timeout_s: float = TIMEOUT_S) -> aio_pika.abc.AbstractConnection:
    """An open connection (close it), or a NodeUserError/NodeTransientError saying why there is none."""
    import aio_pika

    connection = aio_pika.Connection(amqp_url(login), client_properties={"connection_name": "linkflow"})
    connection.kwargs["transport_factory"] = _checked_transport()(addresses, login["host"], timeout_s)
    try:
        await asyncio.wait_for(connection.connect(timeout=timeout_s), timeout_s + 1)
    except BaseException as exc:
        await connection.close()
        if isinstance(exc, Exception):
            raise amqp_error(exc, where(login)) from None
        raise
    return connection


def amqp_error(exc: BaseException, place: str, *, item_index: int | None = None) -> NodeError:
    """The node error for a client exception: user errors for refusals, transient for lost connections."""
    if isinstance(exc, NodeError):
        return exc
    from aiormq import exceptions as amqp

    if isinstance(exc, amqp.ProbableAuthenticationError | amqp.AuthenticationError):
        return NodeUserError(f"{place} refused the user name or password ({_reason(exc)}); check the credential",
                             item_index=item_index)
    if isinstance(exc, amqp.InvalidFrameError) and "Connection.OpenOk" in str(exc):  # the open was refused
        return NodeUserError(f"{place}: the virtual host does not exist or the user may not use it; check the "
                             "credential's vhost and the user's permissions", item_index=item_index)
    if isinstance(exc, ssl.SSLCertVerificationError):
        return NodeUserError(f"{place}: the server's TLS certificate was refused ({exc.verify_message}); it must be "
                             "valid for the host name and signed by a trusted authority", item_index=item_index)
    if isinstance(exc, amqp.ConnectionNotAllowed):
        return NodeUserError(f"{place}: the user may not use this virtual host ({_reason(exc)}); check the "
                             "credential's vhost and the user's permissions", item_index=item_index)
    if isinstance(exc, _user_closes()):
        return NodeUserError(f"{place}: {_reason(exc)}", item_index=item_index)
    if isinstance(exc, amqp.AMQPError | OSError | TimeoutError | ConnectionError):
        return NodeTransientError(f"{place}: {type(exc).__name__}: {_reason(exc)}", item_index=item_index)
    return NodeTransientError(f"{place}: {type(exc).__name__}: {exc}", item_index=item_index)


def _reason(exc: BaseException) -> str:
    """RabbitMQ's reply text when the exception carries one (code and text), else the exception's text."""
    args = [a for a in getattr(exc, "args", ()) if a not in (None, "")]
    if len(args) >= 2 and isinstance(args[0], int):
        return f"{args[1]} ({args[0]})"
    if args and hasattr(args[0], "reply_text"):  # a Channel.Close / Connection.Close frame
        frame = args[0]
        return f"{frame.reply_text} ({frame.reply_code})"
    return str(args[0]) if args else type(exc).__name__
