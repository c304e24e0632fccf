"""Encryption of secrets at rest. The key lives outside the database (file or environment)."""

from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from modelport.domain.errors import PermanentError

ENCRYPTED_PREFIX = "enc:v1:"
REDACTED = "********"


class SecretBox:
    """Symmetric authenticated encryption (Fernet) for secret values in stored specs."""

    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)
        self._key = key

    def derive(self, purpose: str) -> bytes:
        """A 32-byte key for one other purpose (e.g. dashboard sessions), from this key: a
        value made for one purpose never opens or signs for another."""
        return hmac.new(self._key, purpose.encode(), hashlib.sha256).digest()

    @classmethod
    def from_key_file(cls, path: Path, env_key: str | None = None) -> SecretBox:
        """Use `env_key` if given, else the key file, creating it (mode 0600) on first use."""
        if env_key:
            return cls(env_key.encode())
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(Fernet.generate_key())
        return cls(path.read_bytes().strip())

    @staticmethod
    def is_encrypted(value: str) -> bool:
        return value.startswith(ENCRYPTED_PREFIX)

    def encrypt(self, plaintext: str) -> str:
        if self.is_encrypted(plaintext):
            return plaintext
        return ENCRYPTED_PREFIX + self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, stored: str) -> str:
        if not self.is_encrypted(stored):
            return stored
        try:
            return self._fernet.decrypt(stored[len(ENCRYPTED_PREFIX) :].encode()).decode()
        except InvalidToken as exc:
            raise PermanentError(
                "a stored secret cannot be decrypted: the secret key changed "
                "(check MODELPORT_SECRET_KEY or $MODELPORT_HOME/secret.key)"
            ) from exc
