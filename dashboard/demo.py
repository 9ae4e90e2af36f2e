"""A demo tenant a newcomer can log in to at once."""

import logging
from decimal import Decimal

from .audit import Actor
from .auth.accounts import create_user
from .extensions import db
from .models import User
from .operator.tenants import create_tenant, tenant_by_name
from .wallet.ledger import top_up

logger = logging.getLogger(__name__)

DEMO_TENANT = "Demo Company"
DEMO_PASSWORD = "demo-password"  # noqa: S105  (a published demo login, not a secret)
DEMO_PEOPLE = (
    ("operator@demo.test", "operator", "Olivia Operator"),
    ("admin@demo.test", "admin", "Ada Admin"),
    ("agent@demo.test", "agent", "Alex Agent"),
)
DEMO_CREDIT = Decimal("50.00")
DEMO = Actor.system("demo set-up")


def set_up_demo(config):
    """Create the demo tenant, its people and credit once; return what to tell."""
    tenant = tenant_by_name(DEMO_TENANT)
    created = tenant is None
    if created:
        tenant = create_tenant(DEMO_TENANT, DEMO)
        for email, role, name in DEMO_PEOPLE:
            if db.session.scalar(db.select(User.id).where(User.email == email)):
                continue
            create_user(
                email,
                DEMO_PASSWORD,
                role,
                tenant=None if role == "operator" else tenant,
                name=name,
                actor=DEMO,
            )
        db.session.commit()
        top_up(tenant.id, DEMO_CREDIT, DEMO, "Demo credit")

    lines = [
        f"Demo tenant {'created' if created else 'already there'}: {tenant.name}",
        f"Open {config['PUBLIC_BASE_URL']}/login and log in with a password of "
        f"{DEMO_PASSWORD!r} as:",
    ]
    lines += [f"  {email:<22} ({role})" for email, role, _ in DEMO_PEOPLE]
    return lines
