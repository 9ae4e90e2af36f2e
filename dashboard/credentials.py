"""Tenant secrets at rest: Fernet encryption with key rotation.

CREDENTIALS_KEY holds one or more comma-separated keys. The first encrypts; all
of them decrypt, so a new key can be put first, `flask credentials rotate` run,
and the old key removed afterwards.
"""

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app


class CredentialsError(Exception):
    """A stored secret cannot be decrypted with any configured key."""


def _fernet():
    return _fernet_of(tuple(current_app.config["CREDENTIALS_KEYS"]))


@lru_cache(maxsize=8)
def _fernet_of(keys):
    return MultiFernet([Fernet(key) for key in keys])


def encrypt_secret(secret):
    return _fernet().encrypt(secret.encode()).decode()


def decrypt_secret(ciphertext):
    return _decrypt(_fernet(), ciphertext)


# Every webhook request needs its tenant's auth token, and decrypting costs more
# than checking the signature. The cache holds only what requests decrypt anyway;
# a rotated key or token is a different ciphertext, so nothing stale is served.
@lru_cache(maxsize=1024)
def _decrypt(fernet, ciphertext):
    try:
        return fernet.decrypt(ciphertext.encode()).decode()
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
