from flask import flash, redirect, render_template, url_for
from flask_login import current_user

from ..access import role_required, tenant_or_404
from ..audit import Actor
from ..forms import EmptyForm
from ..twilio_gateway import TwilioError
from . import bp
from .forms import TwilioSetupForm
from .settings import SetupError, connect, disconnect, settings_for, webhook_urls


@bp.get("/tenants/<int:tenant_id>/twilio")
@role_required("operator", "admin")
def show(tenant_id):
    tenant = tenant_or_404(tenant_id)
    return _render_setup(tenant, TwilioSetupForm(obj=settings_for(tenant.id)))


@bp.post("/tenants/<int:tenant_id>/twilio")
@role_required("operator", "admin")
def save(tenant_id):
    tenant = tenant_or_404(tenant_id)

    form = TwilioSetupForm()
    if not form.validate_on_submit():
        return _render_setup(tenant, form), 422

    try:
        connect(
            tenant,
            form.account_sid.data,
            form.auth_token.data,
            form.whatsapp_number.data,
            Actor.for_user(current_user),
            phone_number=form.phone_number.data or None,
            messaging_service_sid=form.messaging_service_sid.data or None,
        )
    except SetupError as error:
        form[error.field].errors.append(str(error))
        return _render_setup(tenant, form), 422
    except TwilioError as error:
        form.form_errors.append(f"{error.plain_words} Nothing was saved.")
        return _render_setup(tenant, form), 422

    flash(
        "Twilio accepted the credentials and they are saved. "
        "Paste the webhook URLs below into the Twilio Console.",
        "success",
    )
    return redirect(url_for("twilio_setup.show", tenant_id=tenant.id), code=303)


@bp.post("/tenants/<int:tenant_id>/twilio/remove")
@role_required("operator", "admin")
def remove(tenant_id):
    tenant = tenant_or_404(tenant_id)

    if not EmptyForm().validate_on_submit():
        flash("The form expired; try again.", "error")
    elif disconnect(tenant, Actor.for_user(current_user)):
        flash(
            "Twilio is disconnected: no messages can be sent or received "
            "until it is connected again.",
            "success",
        )
    else:
        flash("Twilio was not connected.", "info")
    return redirect(url_for("twilio_setup.show", tenant_id=tenant.id), code=303)


def _render_setup(tenant, form):
    return render_template(
        "twilio_setup/show.html",
        tenant=tenant,
        settings=settings_for(tenant.id),
        form=form,
        urls=webhook_urls(),
    )
