"""A demo tenant a newcomer can log in to at once, connected to the local
Twilio simulator so the whole loop works without a Twilio account."""

import logging
import secrets
from decimal import Decimal
from pathlib import Path

import requests
from flask import current_app

from .audit import Actor
from .auth.accounts import create_user
from .extensions import db, end_transaction
from .models import User
from .operator.tenants import create_tenant, tenant_by_name
from .twilio_gateway import TwilioError
from .twilio_setup.settings import connect, settings_for
from .urls import INCOMING_WEBHOOK_PATH, public_url
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
DEMO_SENDER = "+14155238886"
DEMO_ACCOUNT_SID = "AC" + "de" * 16
DEMO = Actor.system("demo set-up")


def demo_twilio_account(instance_path):
    """The simulator account the demo tenant uses; its token lives in instance/."""
    path = Path(instance_path) / "demo_twilio_token"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(16))
        path.chmod(0o600)
    return DEMO_ACCOUNT_SID, path.read_text().strip()


def set_up_demo(config):
    """Create the demo tenant, its people and credit once, and connect it to the
    simulator when one is configured; return what to tell the person."""
    tenant = tenant_by_name(DEMO_TENANT)
    created = tenant is None
    if created:
        tenant = _create_demo_tenant()

    lines = [f"Demo tenant {'created' if created else 'already there'}: {tenant.name}"]
    lines.append(_connect_to_simulator(tenant, config))
    lines += [
        f"Open {config['PUBLIC_BASE_URL']}/login and log in with the password "
        f"{DEMO_PASSWORD!r} as:",
        *(f"  {email:<22} ({role})" for email, role, _ in DEMO_PEOPLE),
    ]
    return lines


def _create_demo_tenant():
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
    return tenant


def _connect_to_simulator(tenant, config):
    if settings_for(tenant.id) is not None:
        return "Twilio: already connected."
    if "twilio.com" in config["TWILIO_API_BASE_URL"]:
        return (
            "Twilio: not connected. Run `flask --app wsgi twilio-sim --demo-account` "
            "and set TWILIO_API_BASE_URL to its address, or connect a real account "
            "on the Twilio page."
        )
    account_sid, auth_token = demo_twilio_account(current_app.instance_path)
    try:
        connect(tenant, account_sid, auth_token, DEMO_SENDER, DEMO)
    except TwilioError as error:
        return f"Twilio: could not connect to the simulator ({error})."
    return f"Twilio: connected to the simulator at {config['TWILIO_API_BASE_URL']}."


def deliver_simulated_incoming(tenant, from_number, body, profile_name=None):
    """Ask a running simulator to send the tenant's incoming webhook a message."""
    settings = settings_for(tenant.id)
    if settings is None:
        raise RuntimeError(f"{tenant.name} has no Twilio connection")
    base = current_app.config["TWILIO_API_BASE_URL"]
    if "twilio.com" in base:
        raise RuntimeError("TWILIO_API_BASE_URL points at Twilio, not the simulator")
    account_sid, sender = settings.account_sid, settings.whatsapp_number
    end_transaction()
    try:
        answer = requests.post(
            f"{base}/_sim/incoming",
            json={
                "account_sid": account_sid,
                "url": public_url(INCOMING_WEBHOOK_PATH),
                "from": from_number,
                "to": sender,
                "body": body,
                "profile_name": profile_name,
            },
            timeout=10,
        )
    except requests.RequestException as error:
        raise RuntimeError(f"the simulator at {base} did not answer: {error}") from None
    if answer.status_code != 200:
        raise RuntimeError(f"the simulator refused: {answer.text[:200]}")
    return answer.json().get("status_code")
