"""Slowing down password guessing: failed logins counted per account and per
client address, in storage that every app process shares.

RATELIMIT_STORAGE_URL picks the storage: `memory://` (one process, for the demo)
or `redis://host:port/db` (shared by every process and machine). The counting
itself is the `limits` library's moving window.
"""

import hashlib
import hmac
import ipaddress
import logging
import math
import time

from flask import current_app
from limits import RateLimitItemPerMinute
from limits.errors import StorageError
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from .accounts import normalise_email

logger = logging.getLogger(__name__)

ACCOUNT_LIMIT = RateLimitItemPerMinute(5, 15, namespace="login-account")
ADDRESS_LIMIT = RateLimitItemPerMinute(20, 15, namespace="login-address")
DEFAULT_KEY_PREFIX = "dashboard"
REDIS_TIMEOUT_SECONDS = 2


class LoginThrottle:
    """Failed logins per account and per address, and how long until the next try."""

    def __init__(self, storage_url, secret, key_prefix=DEFAULT_KEY_PREFIX):
        options = {"wrap_exceptions": True}
        if storage_url.startswith(("redis", "rediss")):
            options.update(
                key_prefix=key_prefix,
                socket_timeout=REDIS_TIMEOUT_SECONDS,
                socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
            )
        self.storage = storage_from_string(storage_url, **options)
        self.limiter = MovingWindowRateLimiter(self.storage)
        self._secret = secret.encode()

    def wait_seconds(self, email, address):
        """Seconds until this account and address may try again; 0 if they may now."""
        checks = (
            (ACCOUNT_LIMIT, self._account_key(email)),
            (ADDRESS_LIMIT, address_key(address)),
        )
        try:
            waits = [
                self._wait(limit, key)
                for limit, key in checks
                if not self.limiter.test(limit, key)
            ]
        except StorageError:
            # Failing open: an unreachable store must not lock everyone out, and
            # the password is still checked.
            logger.exception("login throttle storage failed; not throttling")
            return 0
        return max(waits, default=0)

    def record_failure(self, email, address):
        try:
            self.limiter.hit(ACCOUNT_LIMIT, self._account_key(email))
            self.limiter.hit(ADDRESS_LIMIT, address_key(address))
        except StorageError:
            logger.exception("login throttle storage failed; failure not counted")

    def record_success(self, email):
        """Forget the account's failures. The address keeps its count, or one
        account of one's own would reset the limit for guessing at others."""
        try:
            self.limiter.clear(ACCOUNT_LIMIT, self._account_key(email))
        except StorageError:
            logger.exception("login throttle storage failed; failures not cleared")

    def _wait(self, limit, key):
        reset_at, _ = self.limiter.get_window_stats(limit, key)
        return max(1, math.ceil(reset_at - time.time()))

    def _account_key(self, email):
        # Keyed hash: the store never holds an email, nor one to test guesses against.
        normalised = normalise_email(email).encode()
        return hmac.new(self._secret, normalised, hashlib.sha256).hexdigest()[:32]


def address_key(address):
    """The client's address as counted: an IPv6 client is counted by its /64,
    since one subscriber is usually handed a whole /64 to pick addresses from."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if parsed.version == 4:
        return str(parsed)
    if parsed.ipv4_mapped is not None:
        return str(parsed.ipv4_mapped)
    return str(ipaddress.ip_network(f"{parsed}/64", strict=False))


def login_throttle():
    """The app's throttle, made on first use from its settings."""
    app = current_app._get_current_object()
    throttle = app.extensions.get("login_throttle")
    if throttle is None:
        throttle = LoginThrottle(
            app.config["RATELIMIT_STORAGE_URL"],
            app.config["SECRET_KEY"],
            app.config.get("RATELIMIT_KEY_PREFIX", DEFAULT_KEY_PREFIX),
        )
        throttle = app.extensions.setdefault("login_throttle", throttle)
    return throttle


def minutes_text(seconds):
    minutes = max(1, math.ceil(seconds / 60))
    return f"{minutes} minute" if minutes == 1 else f"{minutes} minutes"
