"""API tokens: random bearer secrets shown once and stored only as digests."""

import hashlib
import logging
import secrets
from datetime import timedelta

import sqlalchemy as sa

from .. import audit
from ..extensions import db
from ..models import ApiToken
from ..types import utcnow

logger = logging.getLogger(__name__)

TOKEN_PREFIX = "wdt_"  # noqa: S105  (a marker to recognise tokens, not a secret)
LAST_USE_PRECISION = timedelta(minutes=1)


def digest(token):
    # The token carries 256 random bits, so a plain SHA-256 is enough: there is
    # nothing to brute-force, and lookups stay a single indexed equality.
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(tenant, name, actor):
    """Create a token for the tenant; returns (token, row). The caller commits."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        tenant_id=tenant.id,
        name=(name or "")[:120],
        token_hash=digest(token),
        prefix=token[:10],
        created_by_id=actor.user_id,
    )
    db.session.add(row)
    db.session.flush()
    audit.record("token.created", actor, tenant_id=tenant.id, token_id=row.id)
    return token, row


def token_from_bearer(token):
    """The live token row for a presented secret, or None."""
    if not token or not token.startswith(TOKEN_PREFIX) or len(token) > 100:
        return None
    row = db.session.scalar(
        sa.select(ApiToken).where(
            ApiToken.token_hash == digest(token), ApiToken.revoked_at.is_(None)
        )
    )
    if row is not None:
        _note_use(row)
    return row


def _note_use(row):
    """Record when the token was last used, to the minute: an integration that
    calls many times a second would otherwise write (and lock) its token's row
    on every request."""
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at >= LAST_USE_PRECISION:
        row.last_used_at = now


def revoke_token(row, actor):
    """Stop a token from working; the caller commits."""
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        audit.record("token.revoked", actor, tenant_id=row.tenant_id, token_id=row.id)
