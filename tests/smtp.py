"""SMTP servers on loopback for the mail tests: a real one (aiosmtpd), one that never answers."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from typing import Any


def free_port() -> int:
    """Return a TCP port on loopback that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(condition: Callable[[], bool], *, timeout: float = 30.0, what: str = "") -> None:
    """Return once ``condition()`` holds; fail the test when the deadline passes first."""
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or condition}")
        pause.wait(0.05)


@dataclass
class Mailbox:
    """An aiosmtpd handler that keeps what arrived, refuses while ``down``, or stalls on DATA.

    ``stall``: keep the message, then give no answer to DATA (a server that hangs after it has
    the message, or a worker killed before it read the answer).
    """

    received: list[Message] = field(default_factory=list)
    down: bool = False
    stall: bool = False
    stalled: threading.Event = field(default_factory=threading.Event)
    _arrived: threading.Condition = field(default_factory=threading.Condition)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.down:
            return "451 Requested action aborted: try again later"
        with self._arrived:
            self.received.append(message_from_bytes(envelope.content))
            self._arrived.notify_all()
        if self.stall:
            self.stalled.set()
            await asyncio.sleep(120)
        return "250 OK"

    def wait_for(self, count: int, timeout: float = 30.0) -> list[Message]:
        """Wait until at least ``count`` messages have arrived; return them all."""
        with self._arrived:
            arrived = self._arrived.wait_for(lambda: len(self.received) >= count, timeout)
        assert arrived, f"{len(self.received)} of {count} e-mails arrived within {timeout} s"
        return list(self.received)


class SilentServer:
    """A TCP server that accepts connections and never says a word (a hanging SMTP server)."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self.connected = threading.Event()
        self.connections: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            self.connections.append(connection)
            self.connected.set()

    def close(self) -> None:
        """Stop listening and drop every connection."""
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        self.listener.close()
        for connection in self.connections:
            connection.close()
        self._thread.join(5)
