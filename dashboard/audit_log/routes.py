import sqlalchemy as sa
from flask import render_template

from ..access import role_required, tenant_or_404
from ..extensions import db
from ..models import AuditEvent
from . import bp

EVENTS_PAGE_SIZE = 50


@bp.get("/tenants/<int:tenant_id>/audit")
@role_required("operator", "admin")
def index(tenant_id):
    tenant = tenant_or_404(tenant_id)

    events = db.paginate(
        sa.select(AuditEvent)
        .where(AuditEvent.tenant_id == tenant.id)
        .order_by(AuditEvent.id.desc()),
        per_page=EVENTS_PAGE_SIZE,
        max_per_page=200,
        error_out=False,
    )
    return render_template("audit_log/index.html", tenant=tenant, events=events)
