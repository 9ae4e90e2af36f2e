"""Who may see what: role checks and the tenant-scoped loaders every view uses."""

from functools import wraps

import sqlalchemy as sa
from flask import abort
from flask_login import current_user, login_required

from .extensions import db
from .models import Tenant


def role_required(*roles):
    """Let logged-in users with one of `roles` through; others get 403."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def can_see_tenant(user, tenant_id):
    return user.is_operator or user.tenant_id == tenant_id


def tenant_or_404(tenant_id):
    """The tenant, if the current user may see it; 404 otherwise, never 403.

    Answering 404 for another tenant's id gives away nothing about what exists.
    """
    if not can_see_tenant(current_user, tenant_id):
        abort(404)
    return db.get_or_404(Tenant, tenant_id)


def scoped_or_404(model, object_id, tenant_id):
    """An object of `model` with that id inside the tenant, or 404."""
    found = db.session.scalar(
        sa.select(model).where(model.id == object_id, model.tenant_id == tenant_id)
    )
    if found is None:
        abort(404)
    return found
