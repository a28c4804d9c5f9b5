"""A deadline for request headers.

Uvicorn, which BentoML runs, waits for a request's headers for ever: a client that sends them a
byte at a time, or opens a connection and sends nothing, keeps it open as long as it likes. Each
worker installs this once at start: a connection whose request headers are not complete within
the deadline (counted from its first byte, or from the connection when nothing comes) gets a 408
JSON body and is closed. Whole requests are not affected; bodies have their own deadline in
:mod:`serving.middleware`.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import h11

DEADLINE_ATTR = "_churn_header_deadline_s"
TIMER_ATTR = "_churn_header_timer"


def refusal(seconds: float) -> bytes:
    """The raw 408 response: the one error body, with a fresh request id."""
    body = json.dumps(
        {
            "error": f"the request headers did not arrive within {seconds:g} s",
            "detail": [],
            "request_id": uuid.uuid4().hex,
        }
    ).encode()
    head = (
        "HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    )
    return head.encode() + body


def _disarm(protocol: Any) -> None:
    timer = getattr(protocol, TIMER_ATTR, None)
    if timer is not None:
        timer.cancel()
        setattr(protocol, TIMER_ATTR, None)


def _expire(protocol: Any, seconds: float) -> None:
    setattr(protocol, TIMER_ATTR, None)
    transport = protocol.transport
    if protocol.conn.their_state is h11.IDLE and not transport.is_closing():
        transport.write(refusal(seconds))
        transport.close()


def _arm(protocol: Any, seconds: float) -> None:
    _disarm(protocol)
    timer = protocol.loop.call_later(seconds, _expire, protocol, seconds)
    setattr(protocol, TIMER_ATTR, timer)


def install(seconds: float) -> None:
    """Give every connection of this process's uvicorn ``seconds`` to send a request's headers
    (installing again only changes the deadline)."""
    from uvicorn.protocols.http.h11_impl import H11Protocol

    already = getattr(H11Protocol, DEADLINE_ATTR, None) is not None
    setattr(H11Protocol, DEADLINE_ATTR, seconds)
    if already:
        return
    made, received, lost = (
        H11Protocol.connection_made,
        H11Protocol.data_received,
        H11Protocol.connection_lost,
    )

    def connection_made(self: Any, transport: Any) -> None:
        made(self, transport)
        _arm(self, getattr(H11Protocol, DEADLINE_ATTR))

    def data_received(self: Any, data: bytes) -> None:
        if getattr(self, TIMER_ATTR, None) is None and self.conn.their_state is h11.IDLE:
            _arm(self, getattr(H11Protocol, DEADLINE_ATTR))  # a new request's first bytes
        received(self, data)
        if self.conn.their_state is not h11.IDLE:
            _disarm(self)  # its headers are in

    def connection_lost(self: Any, exc: Exception | None) -> None:
        _disarm(self)
        lost(self, exc)

    H11Protocol.connection_made = connection_made  # type: ignore[method-assign]
    H11Protocol.data_received = data_received  # type: ignore[method-assign]
    H11Protocol.connection_lost = connection_lost  # type: ignore[method-assign]
