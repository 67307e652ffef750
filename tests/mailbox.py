"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives, for e-mail tests.

Use: `from tests.mailbox import mailbox_fixture  # noqa: F401`, then a `mailbox` argument."""

from __future__ import annotations

import email
import re
import socket
from collections.abc import Iterator
from email.message import EmailMessage
from email.policy import default

import pytest
from aiosmtpd.controller import Controller


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.port = 0

    async def handle_DATA(self, server, session, envelope) -> str:  # aiosmtpd's hook
        self.messages.append(email.message_from_bytes(envelope.content, policy=default))
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]

    def last_code(self, address: str) -> str:
        """The 6-digit code of the newest message to `address`."""
        sent = self.to(address)
        assert sent, f"no mail to {address}"
        body = sent[-1].get_body(("plain",)).get_content()
        match = re.search(r"\b(\d{6})\b", body)
        assert match, body
        return match.group(1)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(name="mailbox")
def mailbox_fixture(settings) -> Iterator[Mailbox]:
    """SMTP on a free loopback port; the test's settings point at it."""
    box = Mailbox()
    box.port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=box.port)
    controller.start()
    settings.smtp_host = "127.0.0.1"
    settings.smtp_port = box.port
    try:
        yield box
    finally:
        controller.stop()
