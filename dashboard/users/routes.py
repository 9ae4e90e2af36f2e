import sqlalchemy as sa
from flask import flash, redirect, render_template, url_for
from flask_login import current_user

from ..access import role_required, scoped_or_404, tenant_or_404
from ..audit import Actor
from ..auth.accounts import AccountError, create_user, set_active
from ..extensions import db
from ..forms import EmptyForm
from ..models import User
from . import bp
from .forms import NewUserForm


@bp.get("/tenants/<int:tenant_id>/users")
@role_required("operator", "admin")
def index(tenant_id):
    tenant = tenant_or_404(tenant_id)
    return _render_users(tenant, NewUserForm())


@bp.post("/tenants/<int:tenant_id>/users")
@role_required("operator", "admin")
def create(tenant_id):
    tenant = tenant_or_404(tenant_id)

    form = NewUserForm()
    if not form.validate_on_submit():
        return _render_users(tenant, form), 422

    try:
        user = create_user(
            form.email.data,
            form.password.data,
            form.role.data,
            tenant=tenant,
            name=form.name.data,
            actor=Actor.for_user(current_user),
        )
    except AccountError as error:
        form.email.errors.append(str(error))
        return _render_users(tenant, form), 422
    db.session.commit()

    flash(f"{user.email} can now log in.", "success")
    return redirect(url_for("users.index", tenant_id=tenant.id), code=303)


@bp.post("/tenants/<int:tenant_id>/users/<int:user_id>/active")
@role_required("operator", "admin")
def toggle_active(tenant_id, user_id):
    tenant = tenant_or_404(tenant_id)
    user = scoped_or_404(User, user_id, tenant.id)

    if not EmptyForm().validate_on_submit():
        flash("The form expired; try again.", "error")
    elif user.id == current_user.id:
        flash("You cannot switch yourself off.", "error")
    else:
        set_active(user, not user.active, Actor.for_user(current_user))
        db.session.commit()
        state = "can log in again" if user.active else "can no longer log in"
        flash(f"{user.email} {state}.", "success")
    return redirect(url_for("users.index", tenant_id=tenant.id), code=303)


def _render_users(tenant, form):
    users = db.session.scalars(
        sa.select(User).where(User.tenant_id == tenant.id).order_by(User.email)
    ).all()
    return render_template(
        "users/index.html", tenant=tenant, users=users, form=form, button=EmptyForm()
    )
