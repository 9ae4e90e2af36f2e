import sqlalchemy as sa
from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from ..access import role_required, tenant_or_404
from ..audit import Actor
from ..extensions import db
from ..models import LedgerEntry, Wallet
from . import bp
from .forms import TopUpForm
from .ledger import month_start, spend_since, top_up

LEDGER_PAGE_SIZE = 25


@bp.get("/wallet")
@login_required
def mine():
    if current_user.is_operator:
        return redirect(url_for("operator.tenants"))
    return redirect(url_for("wallet.show", tenant_id=current_user.tenant_id))


@bp.get("/tenants/<int:tenant_id>/wallet")
@login_required
def show(tenant_id):
    tenant = tenant_or_404(tenant_id)
    return _render_wallet(tenant, TopUpForm())


@bp.post("/tenants/<int:tenant_id>/wallet/top-up")
@role_required("operator")
def top_up_form(tenant_id):
    tenant = tenant_or_404(tenant_id)

    form = TopUpForm()
    if not form.validate_on_submit():
        return _render_wallet(tenant, form), 422

    top_up(tenant.id, form.amount.amount, Actor.for_user(current_user), form.note.data)
    flash(f"Added {form.amount.amount:,} to {tenant.name}'s wallet.", "success")
    return redirect(url_for("wallet.show", tenant_id=tenant.id), code=303)


def _render_wallet(tenant, form):
    wallet = db.session.scalar(sa.select(Wallet).where(Wallet.tenant_id == tenant.id))
    if wallet is None:
        abort(404)

    page = db.paginate(
        sa.select(LedgerEntry)
        .where(LedgerEntry.wallet_id == wallet.id)
        .order_by(LedgerEntry.id.desc()),
        per_page=LEDGER_PAGE_SIZE,
        max_per_page=100,
        error_out=False,
    )
    return render_template(
        "wallet/show.html",
        tenant=tenant,
        wallet=wallet,
        entries=page,
        spend_this_month=spend_since(tenant.id, month_start()),
        prices=current_app.config["PRICES"],
        form=form,
    )
