"""The private status links of inputs: unguessable, derived with the secret key."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from korona.config import Settings
from korona.portfolio.intake.models import Input


@dataclass(frozen=True)
class StatusLinks:
    """Makes and checks the private status links (unguessable, derived with the secret key).

    The token is an HMAC of the input's id and a random salt, so the database holds nothing a
    thief could use as a link, and a new salt revokes the old link.
    """

    base_url: str
    secret: str

    def token(self, item: Input) -> str:
        """Return the private status token of an input."""
        mac = hmac.new(
            self.secret.encode(), f"input:{item.id}:{item.token_salt}".encode(), hashlib.sha256
        ).hexdigest()[:32]
        return f"{item.id}-{mac}"

    def url(self, item: Input) -> str:
        """Return the full private status link of an input."""
        return f"{self.base_url.rstrip('/')}/inputs/status/{self.token(item)}"


def status_links(settings: Settings) -> StatusLinks:
    """Return the status-link maker for the app's base URL and secret key."""
    return StatusLinks(settings.base_url, settings.secret_key.get_secret_value())
