"""People: creating them, checking their passwords, loading them per request."""

import logging

import sqlalchemy as sa
from werkzeug.security import check_password_hash, generate_password_hash

from .. import audit
from ..extensions import db, login_manager
from ..models import ROLES, User
from ..types import utcnow

logger = logging.getLogger(__name__)

MIN_PASSWORD_LENGTH = 10
# Checking a password against this keeps the answer time the same whether or
# not the email exists.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


class AccountError(ValueError):
    """A person could not be created or changed; the message says why."""


def normalise_email(email):
    return (email or "").strip().lower()


def create_user(email, password, role, tenant=None, name="", actor=None):
    """Create a person with a hashed password; the caller commits."""
    email = normalise_email(email)
    if "@" not in email or len(email) > 254:
        raise AccountError(f"{email!r} is not an email address")
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}")
    if (role == "operator") != (tenant is None):
        raise AccountError("operators have no tenant; admins and agents need one")
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise AccountError(
            f"the password must have at least {MIN_PASSWORD_LENGTH} characters"
        )
    if db.session.scalar(sa.select(User.id).where(User.email == email)):
        raise AccountError(f"{email} already has an account")

    user = User(
        email=email,
        name=name.strip(),
        role=role,
        tenant_id=tenant.id if tenant else None,
        password_hash=generate_password_hash(password),
    )
    db.session.add(user)
    db.session.flush()
    if actor is not None:
        audit.record(
            "user.created",
            actor,
            tenant_id=user.tenant_id,
            user_id=user.id,
            role=role,
        )
    return user


def authenticate(email, password):
    """The active user with that email and password, or None."""
    user = db.session.scalar(
        sa.select(User).where(User.email == normalise_email(email))
    )
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    if not check_password_hash(user.password_hash, password) or not user.active:
        return None
    user.last_login_at = utcnow()
    return user


@login_manager.user_loader
def load_user(user_id):
    user = db.session.get(User, int(user_id))
    return user if user is not None and user.active else None


def set_active(user, active, actor):
    """Let a person log in or stop them; the caller commits."""
    user.active = active
    audit.record(
        "user.activated" if active else "user.deactivated",
        actor,
        tenant_id=user.tenant_id,
        user_id=user.id,
    )
