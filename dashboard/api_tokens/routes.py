import sqlalchemy as sa
from flask import flash, redirect, render_template, url_for
from flask_login import current_user

from ..access import role_required, scoped_or_404, tenant_or_404
from ..api.tokens import issue_token, revoke_token
from ..audit import Actor
from ..extensions import db
from ..forms import EmptyForm
from ..models import ApiToken
from . import bp
from .forms import NewTokenForm


@bp.get("/tenants/<int:tenant_id>/api-tokens")
@role_required("operator", "admin")
def index(tenant_id):
    tenant = tenant_or_404(tenant_id)
    return _render_tokens(tenant, NewTokenForm())


@bp.post("/tenants/<int:tenant_id>/api-tokens")
@role_required("operator", "admin")
def create(tenant_id):
    tenant = tenant_or_404(tenant_id)

    form = NewTokenForm()
    if not form.validate_on_submit():
        return _render_tokens(tenant, form), 422

    token, row = issue_token(tenant, form.name.data, Actor.for_user(current_user))
    db.session.commit()

    # The token is shown in this answer only: it is stored as a digest, and
    # neither flashed (the session cookie would carry it) nor kept in a cache.
    response = _render_tokens(tenant, NewTokenForm(formdata=None), (token, row))
    return response, 200, {"Cache-Control": "no-store"}


@bp.post("/tenants/<int:tenant_id>/api-tokens/<int:token_id>/revoke")
@role_required("operator", "admin")
def revoke(tenant_id, token_id):
    tenant = tenant_or_404(tenant_id)
    row = scoped_or_404(ApiToken, token_id, tenant.id)

    if not EmptyForm().validate_on_submit():
        flash("The form expired; try again.", "error")
    elif row.revoked_at is not None:
        flash(f"The token “{row.name}” was already revoked.", "info")
    else:
        revoke_token(row, Actor.for_user(current_user))
        db.session.commit()
        flash(f"The token “{row.name}” no longer works.", "success")
    return redirect(url_for("api_tokens.index", tenant_id=tenant.id), code=303)


def _render_tokens(tenant, form, new_token=None):
    tokens = db.session.scalars(
        sa.select(ApiToken)
        .where(ApiToken.tenant_id == tenant.id)
        .order_by(ApiToken.revoked_at.is_not(None), ApiToken.id.desc())
    ).all()
    return render_template(
        "api_tokens/index.html",
        tenant=tenant,
        tokens=tokens,
        form=form,
        button=EmptyForm(),
        new_token=new_token,
    )
