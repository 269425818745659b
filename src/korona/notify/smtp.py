"""Delivering one e-mail by SMTP, and what can go wrong (safe to retry, or uncertain)."""

from __future__ import annotations

import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any, Protocol

from korona.config import Settings

#: Every socket operation of one SMTP conversation may take this long before it counts as failed.
SMTP_TIMEOUT_SECONDS = 30.0


class DeliveryError(Exception):
    """Delivering one e-mail did not succeed; ``reason`` says why in one line."""

    def __init__(self, reason: str) -> None:
        self.reason = reason[:2000]
        super().__init__(self.reason)


class NotDelivered(DeliveryError):
    """The server refused the message or was not reached before it had it: safe to retry.

    ``unreachable``: no SMTP conversation was possible (refused, timed out), so the next message
    would fare no better. ``permanent``: the server refused every recipient for good (5xx).
    """

    def __init__(self, reason: str, *, unreachable: bool = False, permanent: bool = False) -> None:
        super().__init__(reason)
        self.unreachable = unreachable
        self.permanent = permanent


class DeliveryUncertain(DeliveryError):
    """The conversation broke after the message was handed over: it may have been delivered."""


class MailSender(Protocol):
    """Something that delivers one e-mail or raises a DeliveryError."""

    def send(self, message: EmailMessage) -> None:
        """Deliver the message; raise NotDelivered or DeliveryUncertain on failure."""


class _TrackingSMTP(smtplib.SMTP):
    """An SMTP client that remembers whether it began handing over the message (DATA)."""

    data_started = False

    def data(self, msg: Any) -> tuple[int, bytes]:
        self.data_started = True
        return super().data(msg)


def describe(error: BaseException) -> str:
    """Return an error as one line: its type and message."""
    return f"{type(error).__name__}: {error}"


@dataclass(frozen=True)
class SmtpSender:
    """Deliver through the SMTP server named in the settings, one connection per message."""

    host: str
    port: int = 25
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    timeout: float = SMTP_TIMEOUT_SECONDS

    def send(self, message: EmailMessage) -> None:
        """Deliver one message; say whether a failure may have delivered it after all."""
        smtp = _TrackingSMTP(timeout=self.timeout)
        try:
            smtp.connect(self.host, self.port)
            if self.starttls:
                smtp.starttls()
            if self.username:
                smtp.login(self.username, self.password or "")
            smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as error:
            codes = [code for code, _ in error.recipients.values()]
            permanent = bool(codes) and all(code >= 500 for code in codes)
            raise NotDelivered(describe(error), permanent=permanent) from error
        except smtplib.SMTPResponseException as error:
            # The server answered with a refusal, so it does not deliver this message.
            raise NotDelivered(describe(error)) from error
        except (OSError, smtplib.SMTPException) as error:
            if smtp.data_started:
                raise DeliveryUncertain(describe(error)) from error
            raise NotDelivered(describe(error), unreachable=True) from error
        finally:
            _close_quietly(smtp)


def _close_quietly(smtp: smtplib.SMTP) -> None:
    # The result is known before QUIT; a server that hangs up or stalls now changes nothing.
    try:
        if smtp.sock is not None:
            smtp.quit()
    except (OSError, smtplib.SMTPException):
        smtp.close()


def sender_for(settings: Settings, *, timeout: float = SMTP_TIMEOUT_SECONDS) -> MailSender | None:
    """Return the SMTP sender of the settings, or None in development (mail stays in the outbox)."""
    if not settings.smtp_host:
        return None
    return SmtpSender(
        host=settings.smtp_host,
        port=settings.smtp_port,
        username=settings.smtp_username,
        password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
        starttls=settings.smtp_starttls,
        timeout=timeout,
    )
