from flask import flash, redirect, render_template, url_for
from flask_login import current_user

from ..access import role_required
from ..audit import Actor
from ..auth.accounts import AccountError, create_user
from ..extensions import db
from . import bp
from .forms import NewTenantForm
from .tenants import TenantError, create_tenant, tenant_summaries


@bp.get("/tenants")
@role_required("operator")
def tenants():
    return _render_tenants(NewTenantForm())


@bp.post("/tenants")
@role_required("operator")
def create():
    form = NewTenantForm()
    if not form.validate_on_submit():
        return _render_tenants(form), 422

    actor = Actor.for_user(current_user)
    try:
        tenant = create_tenant(form.name.data, actor)
        create_user(
            form.admin_email.data,
            form.admin_password.data,
            "admin",
            tenant=tenant,
            actor=actor,
        )
    except TenantError as error:
        db.session.rollback()
        form.name.errors.append(str(error))
        return _render_tenants(form), 422
    except AccountError as error:
        db.session.rollback()
        form.admin_email.errors.append(str(error))
        return _render_tenants(form), 422
    db.session.commit()

    flash(f"Tenant {tenant.name} created.", "success")
    return redirect(url_for("operator.tenants"), code=303)


def _render_tenants(form):
    return render_template(
        "operator/tenants.html", summaries=tenant_summaries(), form=form
    )
