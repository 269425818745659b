"""Password hashing (argon2), random tokens and their at-rest hashes, CSRF tokens."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()

#: Hash compared against when the e-mail is unknown, so a login takes as long either way.
_DUMMY_HASH = _hasher.hash("korona-timing-equaliser")

MIN_PASSWORD_LENGTH = 10


def hash_password(password: str) -> str:
    """Return the argon2id hash of a password."""
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Return whether the password matches the hash (constant work for a missing hash)."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def new_token() -> str:
    """Return a fresh random URL-safe token (256 bits)."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """Return the SHA-256 hex digest under which a session or API token is stored."""
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_token(secret_key: str, csrf_cookie: str) -> str:
    """Return the form token bound to a browser's CSRF cookie (signed double submit)."""
    return hmac.new(secret_key.encode(), csrf_cookie.encode(), hashlib.sha256).hexdigest()


def csrf_valid(secret_key: str, csrf_cookie: str | None, submitted: str | None) -> bool:
    """Return whether a submitted CSRF token matches the browser's cookie."""
    if not csrf_cookie or not submitted:
        return False
    return hmac.compare_digest(csrf_token(secret_key, csrf_cookie), submitted)
