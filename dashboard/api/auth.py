"""Bearer-token authentication for the JSON API."""

import logging
from functools import wraps

from flask import g, jsonify, request

from ..audit import Actor
from ..extensions import db
from .tokens import token_from_bearer

logger = logging.getLogger(__name__)

MISSING = "Send an API token in the Authorization header: Bearer <token>."
REFUSED = "The API token is not valid or has been revoked."


def token_required(view):
    """Let requests with a live token through, scoped to the token's tenant.

    Sets `g.api_token` and `g.tenant_id`; anything else is answered 401 with a
    `WWW-Authenticate: Bearer` challenge.
    """

    @wraps(view)
    def wrapped(*args, **kwargs):
        presented = _bearer_token()
        if presented is None:
            return _unauthorized(MISSING, None)

        row = token_from_bearer(presented)
        if row is None:
            logger.info("API request with an unknown or revoked token refused")
            return _unauthorized(REFUSED, "invalid_token")
        # Keep `last_used_at` even when the view only reads.
        db.session.commit()

        g.api_token = row
        g.tenant_id = row.tenant_id
        return view(*args, **kwargs)

    return wrapped


def api_actor():
    """Who the ledger and the audit trail name for the current API request."""
    return Actor.system(f"API token {g.api_token.prefix}…")


def _bearer_token():
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token


def _unauthorized(text, error):
    challenge = 'Bearer realm="api"'
    if error:
        challenge += f', error="{error}"'
    response = jsonify(error=text)
    response.status_code = 401
    response.headers["WWW-Authenticate"] = challenge
    return response
