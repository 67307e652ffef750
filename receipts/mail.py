"""An async SMTP sender (aiosmtplib) configured by `settings.smtp_*`.

Used for e-mail confirmation codes and, by the monthly push, for receipts as PDF attachments.
Raises `MailError` on any delivery failure; logs no addresses.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

import aiosmtplib

from bot.config import Settings

log = logging.getLogger(__name__)

Attachment = tuple[str, bytes, str]  # (file name, content, MIME type such as "application/pdf")


class MailError(Exception):
    """The message could not be handed to the SMTP server."""


def mail_enabled(settings: Settings) -> bool:
    return bool(settings.smtp_host)


def build_message(
    sender: str, to: str, subject: str, text: str, attachments: Sequence[Attachment] = ()
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    message.set_content(text)
    for filename, content, mime in attachments:
        maintype, _, subtype = mime.partition("/")
        message.add_attachment(
            content, maintype=maintype, subtype=subtype or "octet-stream", filename=filename
        )
    return message


async def send_mail(
    settings: Settings,
    to: str,
    subject: str,
    text: str,
    attachments: Sequence[Attachment] = (),
    *,
    timeout: float = 30,
) -> None:
    """Send one message. `attachments`: `[(filename, bytes, mime), ...]`."""
    if not settings.smtp_host:
        raise MailError("SMTP is not configured")
    secret = settings.smtp_password.get_secret_value() if settings.smtp_password else None
    message = build_message(settings.smtp_sender, to, subject, text, attachments)
    try:
        await aiosmtplib.send(
            message,
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username or None,
            password=secret or None,
            use_tls=settings.smtp_use_tls,
            start_tls=settings.smtp_starttls,
            timeout=timeout,
        )
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
        log.warning("mail not sent: %s", type(error).__name__)
        raise MailError(type(error).__name__) from error
