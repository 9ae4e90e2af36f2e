"""Tenant secrets at rest: Fernet encryption with key rotation.

CREDENTIALS_KEY holds one or more comma-separated keys. The first encrypts; all
of them decrypt, so a new key can be put first, `flask credentials rotate` run,
and the old key removed afterwards.
"""

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app


class CredentialsError(Exception):
    """A stored secret cannot be decrypted with any configured key."""


def _fernet():
    return MultiFernet([Fernet(key) for key in current_app.config["CREDENTIALS_KEYS"]])


def encrypt_secret(secret):
    return _fernet().encrypt(secret.encode()).decode()


def decrypt_secret(ciphertext):
    try:
        return _fernet().decrypt(ciphertext.encode()).decode()
    except InvalidToken:
        raise CredentialsError(
            "a stored secret does not match any key in CREDENTIALS_KEY"
        ) from None


def rotate_secret(ciphertext):
    """Re-encrypt a secret with the first (newest) key."""
    try:
        return _fernet().rotate(ciphertext.encode()).decode()
    except InvalidToken:
        raise CredentialsError(
            "a stored secret does not match any key in CREDENTIALS_KEY"
        ) from None
