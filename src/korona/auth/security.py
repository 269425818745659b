"""Password hashing (argon2), random tokens and their at-rest hashes, CSRF tokens."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn import zxcvbn

#: argon2id with OWASP's first recommended setting (Password Storage Cheat Sheet: m = 19 MiB,
#: t = 2, p = 1). argon2-cffi's default (RFC 9106's low-memory one: 64 MiB, t = 3, p = 4) costs
#: about eight times the CPU per login, which a small server pays on every login. Hashes made
#: with other settings still verify and are re-hashed with these at the next login.
_hasher = PasswordHasher(
    time_cost=2, memory_cost=19 * 1024, parallelism=1, hash_len=32, salt_len=16, type=Type.ID
)

#: Hash compared against when the e-mail is unknown, so a login takes as long either way.
_DUMMY_HASH = _hasher.hash("korona-timing-equaliser")

MIN_PASSWORD_LENGTH = 12
#: zxcvbn's 0-4 guessability score a password must reach (3: "safely unguessable", ~10^8
#: guesses or more, enough against online guessing with throttling and slow hashing).
MIN_PASSWORD_SCORE = 3
#: zxcvbn refuses longer input and its cost grows with length; a longer password is judged by
#: its first 72 characters (it only gets stronger beyond them).
_SCORED_LENGTH = 72


def hash_password(password: str) -> str:
    """Return the argon2id hash of a password."""
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Return whether the password matches the hash (constant work for a missing hash)."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Return whether a (verified) hash was made with other settings than today's."""
    try:
        return _hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return False


def password_score(password: str, user_inputs: Iterable[str] = ()) -> int:
    """Return zxcvbn's guessability score 0-4, treating the user's own details as known words."""
    words = [word for word in user_inputs if word]
    return int(zxcvbn(password[:_SCORED_LENGTH], user_inputs=words)["score"])


def new_token() -> str:
    """Return a fresh random URL-safe token (256 bits)."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """Return the SHA-256 hex digest under which a session or API token is stored."""
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_token(secret_key: str, csrf_cookie: str, session_token: str | None) -> str:
    """Return the form token bound to a browser's CSRF cookie and its login session.

    Binding the login session in means a cookie-and-token pair planted before the victim
    logs in (or minted by the attacker's own session) does not validate with the victim's
    session; anonymous forms are bound to the CSRF cookie alone (the pre-login token).
    """
    # The binding comes first and holds no ':' (a hex digest or "anon"), so no cookie value
    # can make two different (cookie, session) pairs sign the same message.
    binding = token_hash(session_token) if session_token else "anon"
    message = f"{binding}:{csrf_cookie}".encode()
    return hmac.new(secret_key.encode(), message, hashlib.sha256).hexdigest()


def csrf_valid(
    secret_key: str, csrf_cookie: str | None, session_token: str | None, submitted: str | None
) -> bool:
    """Return whether a submitted CSRF token matches the browser's cookie and session."""
    if not csrf_cookie or not submitted:
        return False
    expected = csrf_token(secret_key, csrf_cookie, session_token)
    return hmac.compare_digest(expected, submitted)
