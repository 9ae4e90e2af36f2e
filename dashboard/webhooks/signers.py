"""Which tenants signed a webhook request, from auth tokens held for a few seconds.

Status callbacks arrive several times per message, nearly all from a handful of
accounts. Holding each account's decrypted tokens briefly in the process lets
the common case (a message moving forward) skip reading them with every
request. The cache only ever says yes: a request no held token signed is
checked again against the stored tokens, and callbacks that refund money never
use it. A replaced or removed token is thus trusted for forward moves for at
most TOKENS_KEPT_SECONDS more, in processes that held it.
"""

import time

import sqlalchemy as sa
from flask import current_app

from ..credentials import decrypt_secret
from ..models import TwilioSettings
from .signatures import is_signed_by

TOKENS_KEPT_SECONDS = 10.0

_TOKENS_OF_ACCOUNT = sa.select(
    TwilioSettings.tenant_id, TwilioSettings.auth_token_encrypted
).where(TwilioSettings.account_sid == sa.bindparam("account_sid"))


def tenants_signing(connection, account_sid):
    """Ids of the tenants on `account_sid` whose held auth token signed this
    request; an empty list means "ask the stored tokens", not "forged"."""
    tokens = _held_tokens().get(account_sid)
    if tokens is None or tokens[0] < time.monotonic():
        tokens = _hold(connection, account_sid)
    return [tenant_id for tenant_id, token in tokens[1] if is_signed_by(token)]


def _hold(connection, account_sid):
    rows = connection.execute(_TOKENS_OF_ACCOUNT, {"account_sid": account_sid})
    tokens = (
        time.monotonic() + TOKENS_KEPT_SECONDS,
        [(tenant_id, decrypt_secret(ciphertext)) for tenant_id, ciphertext in rows],
    )
    held = _held_tokens()
    if tokens[1]:
        held[account_sid] = tokens
    else:
        # Unknown accounts are not held, so made-up SIDs cannot fill the cache.
        held.pop(account_sid, None)
    return tokens


def _held_tokens():
    """This application's tokens by account SID (per app: tests run many)."""
    return current_app.extensions.setdefault("webhook_signers", {})
