"""Webhook signing secrets: made here, stored encrypted, readable only by the dispatcher.

HMAC needs the secret itself, so it cannot be stored hashed like a token. It is stored
encrypted with AES-256-GCM under ``BILLCLASS_WEBHOOK_SECRET_KEY`` (32 bytes, base64), the
subscription's ID as associated data (a stored secret copied onto another row does not
decrypt). Stored form: ``v1:<base64 nonce + ciphertext>``. Without a key (development, the
quick start) secrets are stored as ``plain:<secret>`` and the service says so at start-up;
setting a key later keeps those readable, and a rotation stores the new one encrypted.

A secret is ``whsec_`` and 24 random bytes in base64, the Standard Webhooks format every
verifier library accepts.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PREFIX = "whsec_"
ENCRYPTED = "v1:"
PLAIN = "plain:"
NONCE_BYTES = 12


class SecretUnreadable(Exception):
    """A stored secret cannot be decrypted (no key, or another key than the one that
    encrypted it). The message names the setting, never a secret."""


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


@dataclass(frozen=True)
class SecretBox:
    """Encrypts and decrypts stored secrets with one key (None: stored unencrypted)."""

    key: bytes | None = None

    @classmethod
    def of_setting(cls, value: str | None) -> SecretBox:
        """The box of ``BILLCLASS_WEBHOOK_SECRET_KEY`` (checked by db.settings)."""
        return cls(None if value is None else base64.b64decode(value))

    def seal(self, secret: str, subscription_id: int) -> str:
        if self.key is None:
            return PLAIN + secret
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = AESGCM(self.key).encrypt(nonce, secret.encode(), _aad(subscription_id))
        return ENCRYPTED + base64.b64encode(nonce + sealed).decode()

    def open(self, stored: str, subscription_id: int) -> str:
        if stored.startswith(PLAIN):
            return stored[len(PLAIN) :]
        if self.key is None:
            raise SecretUnreadable(
                "the signing secret is encrypted and BILLCLASS_WEBHOOK_SECRET_KEY is not set"
            )
        raw = base64.b64decode(stored[len(ENCRYPTED) :])
        try:
            plain = AESGCM(self.key).decrypt(
                raw[:NONCE_BYTES], raw[NONCE_BYTES:], _aad(subscription_id)
            )
        except InvalidTag:
            raise SecretUnreadable(
                "the signing secret does not decrypt with BILLCLASS_WEBHOOK_SECRET_KEY"
            ) from None
        return plain.decode()


def _aad(subscription_id: int) -> bytes:
    return f"webhook_subscription:{subscription_id}".encode()
