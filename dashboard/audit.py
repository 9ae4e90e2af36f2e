"""Who did what: the actor behind a change, and the audit trail of changes."""

import logging
from dataclasses import dataclass

from .extensions import db
from .models import AuditEvent

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Actor:
    """A person or a part of the system that causes a change."""

    label: str
    user_id: int | None = None

    @classmethod
    def for_user(cls, user):
        return cls(label=user.email, user_id=user.id)

    @classmethod
    def system(cls, label):
        return cls(label=label)


def record(action, actor, tenant_id=None, **detail):
    """Add an audit event to the current transaction (the caller commits)."""
    db.session.add(
        AuditEvent(
            tenant_id=tenant_id,
            actor=actor.label[:120],
            actor_user_id=actor.user_id,
            action=action,
            detail=detail,
        )
    )
    logger.info("audit %s tenant=%s by user=%s", action, tenant_id, actor.user_id)
