"""Passwords (argon2), opaque tokens (stored only as sha256), signed patient links and
signed device cookies."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, URLSafeSerializer, URLSafeTimedSerializer

_HASHER = PasswordHasher()
MIN_PASSWORD = 12
#: users one device cookie remembers (a shared front-desk computer): the most recent
DEVICE_USERS = 10


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True when ``password`` matches; never raises for a wrong password."""
    try:
        return _HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _HASHER.check_needs_rehash(password_hash)


# A fixed hash to verify against when the email is unknown, so a login takes as long
# whether or not the account exists (no account enumeration by timing).
DUMMY_HASH = _HASHER.hash("needlewise-not-a-real-password")


def new_token() -> str:
    """A random, URL-safe token (256 bits)."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """What the database keeps instead of a token."""
    return hashlib.sha256(token.encode()).hexdigest()


def same(a: str, b: str) -> bool:
    """Constant-time comparison of two secrets."""
    return hmac.compare_digest(a.encode(), b.encode())


@dataclass(frozen=True)
class Device:
    """A browser that logged in before: its random id and the users who logged in on it."""

    id: str
    user_ids: tuple[int, ...]

    @property
    def key(self) -> str:
        """What the database keeps instead of the device id."""
        return token_hash(f"device:{self.id}")


class LinkSigner:
    """Signs patient-link ids so a link cannot be guessed or altered, and device cookies
    (with the same secret key, under another salt, so neither opens as the other).

    The signature says which link; whether it is still valid (expiry, use, revocation)
    is checked against the database.
    """

    def __init__(self, secret_key: str) -> None:
        self._serializer = URLSafeSerializer(secret_key, salt="needlewise.patient-link")
        self._devices = URLSafeTimedSerializer(secret_key, salt="needlewise.device")

    def sign_device(self, device: Device) -> str:
        """The cookie value for ``device`` (signed and dated now)."""
        return self._devices.dumps([device.id, list(device.user_ids[:DEVICE_USERS])])

    def open_device(self, cookie: str | None, max_age_seconds: int) -> Device | None:
        """The device a cookie names, if its signature is right and it is younger than
        ``max_age_seconds``; ``None`` for anything else (never raises)."""
        if not cookie or len(cookie) > 1000:
            return None
        try:
            value = self._devices.loads(cookie, max_age=max_age_seconds)
        except BadSignature:  # includes an expired signature
            return None
        if (
            isinstance(value, list)
            and len(value) == 2
            and isinstance(value[0], str)
            and isinstance(value[1], list)
            and all(isinstance(u, int) and not isinstance(u, bool) for u in value[1])
        ):
            return Device(value[0], tuple(value[1]))
        return None

    def sign(self, link_id: int, purpose: str) -> str:
        return self._serializer.dumps([link_id, purpose])

    def unsign(self, token: str) -> tuple[int, str] | None:
        try:
            value = self._serializer.loads(token)
        except BadSignature:
            return None
        if (
            isinstance(value, list)
            and len(value) == 2
            and isinstance(value[0], int)
            and isinstance(value[1], str)
        ):
            return value[0], value[1]
        return None


def secret_key_for(configured: str | None, folder: Path) -> str:
    """The configured key, or one created once in ``folder/secret.key`` (mode 600)."""
    if configured:
        return configured
    path = folder / "secret.key"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        # write a private temporary file, then link it into place: creating the link is
        # atomic, so processes starting together all end up with the same key
        temporary = folder / f".secret.key.{os.getpid()}.{secrets.token_hex(4)}"
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass  # another process won the race: use its key
        finally:
            temporary.unlink()
    return path.read_text().strip()
