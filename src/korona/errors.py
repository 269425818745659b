"""Domain errors raised by services; routers map them to HTTP, the CLI to exit codes.

Messages are English message ids with ``{name}`` placeholders: the API shows them as they are,
the web pages translate them through the message catalogue before filling in the values.
"""

from __future__ import annotations

from typing import Any


def N_(message: str) -> str:
    """Mark a message for extraction into the catalogue without translating it now."""
    return message


class DomainError(Exception):
    """A rule of the domain refused the request; nothing was written."""

    status_code = 400

    def __init__(self, message: str, *, field: str | None = None, **params: Any) -> None:
        self.message = message
        self.field = field
        self.params = params
        super().__init__(self.text)

    @property
    def text(self) -> str:
        """Return the English message with its values filled in."""
        return self.message.format(**self.params)


class NotFound(DomainError):
    """The entity does not exist (or is not visible to the caller)."""

    status_code = 404


class Forbidden(DomainError):
    """The caller may not do this to this entity."""

    status_code = 403


class Conflict(DomainError):
    """The request conflicts with the current state (duplicate, wrong status)."""

    status_code = 409


class InvalidInput(DomainError):
    """The input is well-formed but breaks a rule."""

    status_code = 422
