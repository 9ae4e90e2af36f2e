from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from ..access import role_required, scoped_or_404, tenant_or_404
from ..audit import Actor
from ..models import Message
from . import bp
from .forms import SendForm
from .history import Filters, history_page
from .sending import Outgoing, SendError, TwilioRefused, send

PAGE_SIZE = 25
SEND_FIELDS = {"to": "to", "message": "body"}


@bp.get("/tenants/<int:tenant_id>/messages")
@login_required
def index(tenant_id):
    tenant = tenant_or_404(tenant_id)
    return _render_history(tenant, SendForm())


@bp.post("/tenants/<int:tenant_id>/messages")
@role_required("admin", "agent")
def send_form(tenant_id):
    tenant = tenant_or_404(tenant_id)

    form = SendForm()
    if not form.validate_on_submit():
        return _render_history(tenant, form), 422

    outgoing = Outgoing(to=form.to.data, body=form.body.data)
    try:
        message = send(tenant.id, outgoing, Actor.for_user(current_user))
    except TwilioRefused as refused:
        flash(f"Twilio refused the message: {refused}", "error")
        return redirect(url_for("messages.index", tenant_id=tenant.id), code=303)
    except SendError as error:
        field = getattr(form, SEND_FIELDS.get(error.field, ""), None) or form.to
        field.errors = [*field.errors, str(error)]
        return _render_history(tenant, form), 402 if error.status == 402 else 422

    flash(f"Message to {message.to_number} sent, charged {message.cost}.", "success")
    return redirect(url_for("messages.index", tenant_id=tenant.id), code=303)


@bp.get("/tenants/<int:tenant_id>/messages/<int:message_id>/status")
@login_required
def status(tenant_id, message_id):
    tenant = tenant_or_404(tenant_id)
    message = scoped_or_404(Message, message_id, tenant.id)
    return render_template("messages/_status.html", message=message, tenant=tenant)


def _render_history(tenant, form):
    filters = Filters.from_args(request.args)
    page_number = request.args.get("page", 1, type=int)
    page = history_page(tenant.id, filters, max(1, page_number), PAGE_SIZE)
    return render_template(
        "messages/index.html",
        tenant=tenant,
        page=page,
        filters=filters,
        form=form,
    )
