"""An outbox row as an e-mail: attachments, the claim a worker sends, stable Message-IDs."""

from __future__ import annotations

from dataclasses import dataclass
from email import policy as email_policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import parseaddr

from korona.notify.smtp import describe


@dataclass(frozen=True)
class Attachment:
    """A file to send with an e-mail."""

    filename: str
    content_type: str  # "application/pdf"
    content: bytes


def mail_domain(mail_from: str) -> str:
    """Return the domain of the sender address (for Message-IDs), or 'localhost'."""
    _, address = parseaddr(mail_from)
    domain = address.rpartition("@")[2].strip().lower()
    return domain or "localhost"


def message_id_for(outbox_id: int, domain: str) -> str:
    """Return the stable Message-ID of an outbox row: the same on every attempt."""
    return f"<korona-outbox-{outbox_id}@{domain}>"


@dataclass(frozen=True)
class Claim:
    """One message a worker has claimed (committed), with what it needs to send it."""

    id: int
    token: str
    to_address: str
    subject: str
    body: str
    message_id: str
    attempts: int
    html: str | None = None
    unsubscribe_url: str | None = None
    attachments: tuple[Attachment, ...] = ()


_LONG_LINES = email_policy.default.clone(max_line_length=998)


class BuildError(Exception):
    """The outbox row cannot become an e-mail (a bad header or address)."""


def build_email(claim: Claim, mail_from: str) -> EmailMessage:
    """Return the claimed row as an e-mail, or raise BuildError saying what is wrong."""
    try:
        Address(addr_spec=claim.to_address)
        # A List-Unsubscribe URL is one long word; the default 78-column folding would turn
        # it into encoded words, which mail clients do not read as a URL (RFC 2369).
        email = EmailMessage(policy=_LONG_LINES if claim.unsubscribe_url else email_policy.default)
        email["From"] = mail_from
        email["To"] = claim.to_address
        email["Subject"] = claim.subject
        email["Message-ID"] = claim.message_id
        if claim.unsubscribe_url:
            email["List-Unsubscribe"] = f"<{claim.unsubscribe_url}>"
            # RFC 8058 one-click: the URL takes a POST with this body, no cookies, no page.
            email["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        email.set_content(claim.body)
        if claim.html is not None:
            email.add_alternative(claim.html, subtype="html")
        for attachment in claim.attachments:
            maintype, _, subtype = attachment.content_type.partition("/")
            email.add_attachment(
                attachment.content,
                maintype=maintype,
                subtype=subtype or "octet-stream",
                filename=attachment.filename,
            )
    except Exception as error:  # the email package raises many types; each means "cannot build"
        raise BuildError(f"Cannot build the e-mail: {describe(error)}") from error
    return email
