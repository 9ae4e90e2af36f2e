from flask import flash, redirect, render_template, url_for
from flask_login import current_user

from ..access import role_required, scoped_or_404, tenant_or_404
from ..audit import Actor
from ..extensions import db
from ..forms import EmptyForm
from ..models import Template
from ..twilio_gateway import TwilioError
from ..twilio_setup.settings import settings_for
from . import bp
from .catalog import (
    TemplateError,
    add_template,
    delete_template,
    import_from_twilio,
    templates_of,
)
from .forms import TemplateForm

# Agents send templates from the inbox; managing the list is for admins only.
MANAGERS = ("operator", "admin")


@bp.get("/tenants/<int:tenant_id>/templates")
@role_required(*MANAGERS)
def index(tenant_id):
    tenant = tenant_or_404(tenant_id)
    return _render_templates(tenant, TemplateForm())


@bp.post("/tenants/<int:tenant_id>/templates")
@role_required(*MANAGERS)
def create(tenant_id):
    tenant = tenant_or_404(tenant_id)

    form = TemplateForm()
    if not form.validate_on_submit():
        return _render_templates(tenant, form), 422

    try:
        template = add_template(
            tenant.id,
            form.name.data,
            form.content_sid.data,
            form.variable_keys(),
            form.preview.data,
            form.category.data,
            Actor.for_user(current_user),
        )
    except TemplateError as error:
        form[error.field].errors.append(str(error))
        return _render_templates(tenant, form), 422
    db.session.commit()

    flash(f"“{template.name}” can now be sent from the inbox.", "success")
    return redirect(url_for("templates_admin.index", tenant_id=tenant.id), code=303)


@bp.post("/tenants/<int:tenant_id>/templates/import")
@role_required(*MANAGERS)
def import_templates(tenant_id):
    tenant = tenant_or_404(tenant_id)

    if not EmptyForm().validate_on_submit():
        flash("The form expired; try again.", "error")
    else:
        try:
            added, updated = import_from_twilio(tenant, Actor.for_user(current_user))
        except TemplateError as error:
            flash(str(error), "error")
        except TwilioError as error:
            flash(f"{error.plain_words} Nothing was imported.", "error")
        else:
            flash(_import_outcome(added, updated), "success")
    return redirect(url_for("templates_admin.index", tenant_id=tenant.id), code=303)


@bp.post("/tenants/<int:tenant_id>/templates/<int:template_id>/delete")
@role_required(*MANAGERS)
def delete(tenant_id, template_id):
    tenant = tenant_or_404(tenant_id)
    template = scoped_or_404(Template, template_id, tenant.id)

    if not EmptyForm().validate_on_submit():
        flash("The form expired; try again.", "error")
    else:
        name = template.name
        delete_template(template, Actor.for_user(current_user))
        db.session.commit()
        flash(
            f"“{name}” was removed. Messages already sent with it are kept.",
            "success",
        )
    return redirect(url_for("templates_admin.index", tenant_id=tenant.id), code=303)


def _import_outcome(added, updated):
    if not added and not updated:
        return "The templates already match the Twilio account: nothing new."
    return f"Imported from Twilio: {added} new, {updated} updated."


def _render_templates(tenant, form):
    return render_template(
        "templates_admin/index.html",
        tenant=tenant,
        templates=templates_of(tenant.id),
        connected=settings_for(tenant.id) is not None,
        form=form,
        button=EmptyForm(),
    )
