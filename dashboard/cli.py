"""The command line under `flask --app wsgi`: tenants, people, credit, tokens and
a demo set-up. Each command is a thin wrapper over the same rules the pages use."""

import logging
from decimal import Decimal, InvalidOperation

import click
from flask import current_app

from .audit import Actor
from .auth.accounts import AccountError, create_user
from .extensions import db
from .operator.tenants import TenantError, create_tenant, tenant_by_name
from .wallet.ledger import LedgerError, top_up

logger = logging.getLogger(__name__)

COMMAND_LINE = Actor.system("command line")


def register(app):
    for group in (tenants_cli, users_cli, wallet_cli, tokens_cli, messages_cli):
        app.cli.add_command(group)
    for command in (demo_command, simulator_command, credentials_cli):
        app.cli.add_command(command)


def _tenant_or_fail(name):
    tenant = tenant_by_name(name)
    if tenant is None:
        raise click.ClickException(f"no tenant named {name!r}")
    return tenant


def _amount(text):
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise click.BadParameter(f"{text!r} is not a number") from None
    if not amount.is_finite() or amount <= 0 or amount.as_tuple().exponent < -4:
        raise click.BadParameter("must be positive, with at most 4 decimal places")
    return amount


@click.group("tenants", help="Create and list tenants.")
def tenants_cli():
    pass


@tenants_cli.command("create")
@click.argument("name")
def tenants_create(name):
    """Create a tenant with an empty wallet."""
    try:
        tenant = create_tenant(name, COMMAND_LINE)
    except TenantError as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(f"Created tenant {tenant.name} (id {tenant.id}).")


@click.group("users", help="Create people who log in.")
def users_cli():
    pass


@users_cli.command("create")
@click.argument("email")
@click.option("--tenant", "tenant_name", help="The tenant (not for operators).")
@click.option(
    "--role", type=click.Choice(["operator", "admin", "agent"]), required=True
)
@click.option("--name", default="", help="The person's name.")
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help="Asked for when not given.",
)
def users_create(email, tenant_name, role, name, password):
    """Create a person: an operator, or a tenant's admin or agent."""
    tenant = _tenant_or_fail(tenant_name) if tenant_name else None
    try:
        user = create_user(
            email, password, role, tenant=tenant, name=name, actor=COMMAND_LINE
        )
    except AccountError as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(f"Created {role} {user.email}.")


@click.group("wallet", help="Credit tenants' wallets.")
def wallet_cli():
    pass


@wallet_cli.command("top-up")
@click.argument("tenant_name")
@click.argument("amount", type=_amount)
@click.option("--note", default="", help="Shown in the ledger.")
def wallet_top_up(tenant_name, amount, note):
    """Add AMOUNT of credit to a tenant's wallet."""
    tenant = _tenant_or_fail(tenant_name)
    try:
        entry = top_up(tenant.id, amount, COMMAND_LINE, note)
    except LedgerError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Balance of {tenant.name}: {entry.balance_after}")


@click.group("tokens", help="API tokens for integrators.")
def tokens_cli():
    pass


@tokens_cli.command("create")
@click.option("--tenant", "tenant_name", required=True)
@click.option("--name", default="command line", help="What the token is for.")
def tokens_create(tenant_name, name):
    """Create an API token; it is printed once, as the last line."""
    from .api.tokens import issue_token

    tenant = _tenant_or_fail(tenant_name)
    token, _ = issue_token(tenant, name, COMMAND_LINE)
    db.session.commit()
    click.echo(f"API token for {tenant.name} (shown once, store it now):")
    click.echo(token)


@click.command("demo")
def demo_command():
    """Create a demo tenant with people and credit, and say how to log in."""
    from .demo import set_up_demo

    for line in set_up_demo(current_app.config):
        click.echo(line)


@click.group("messages", help="Look after messages.")
def messages_cli():
    pass


@messages_cli.command("reconcile")
@click.option(
    "--older-than",
    "hours",
    type=click.FloatRange(min=0),
    default=None,
    help="Age in hours (default RECONCILE_AFTER_HOURS, 12).",
)
def messages_reconcile(hours):
    """Catch up with Twilio: messages still not final after an age, and sends
    whose request died before Twilio answered."""
    from .messaging.reconcile import reconcile

    if hours is None:
        hours = current_app.config["RECONCILE_AFTER_HOURS"]
    changes = reconcile(hours)
    for message_id, (before, after) in sorted(changes.items()):
        click.echo(f"message {message_id}: {before} -> {after}")
    click.echo(f"{len(changes)} message(s) changed.")


@messages_cli.command("simulate-incoming")
@click.option("--tenant", "tenant_name", required=True)
@click.option("--from", "from_number", required=True, help="The contact, E.164.")
@click.option("--body", default="Hello!")
@click.option("--name", "profile_name", default=None, help="The contact's name.")
def messages_simulate_incoming(tenant_name, from_number, body, profile_name):
    """Ask the running Twilio simulator to deliver a message from a contact."""
    from .demo import deliver_simulated_incoming

    tenant = _tenant_or_fail(tenant_name)
    try:
        status = deliver_simulated_incoming(tenant, from_number, body, profile_name)
    except RuntimeError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Delivered; the webhook answered {status}.")


@click.command("twilio-sim")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8765, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--account",
    "accounts",
    multiple=True,
    metavar="SID:TOKEN",
    help="An account the simulator knows; repeatable.",
)
@click.option("--demo-account", is_flag=True, help="Also know the demo's account.")
@click.option(
    "--callback-delay",
    default=1.0,
    show_default=True,
    type=click.FloatRange(min=0),
    help="Seconds between status callbacks.",
)
def simulator_command(host, port, accounts, demo_account, callback_delay):
    """Run the local Twilio simulator until Ctrl-C."""
    from .demo import demo_twilio_account
    from .simulator import parse_account_spec, run_simulator

    try:
        known = [parse_account_spec(spec) for spec in accounts]
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--account") from None
    if demo_account:
        known.append(demo_twilio_account(current_app.instance_path))

    def ready(server):
        click.echo(f"Twilio simulator listening on {server.url} (Ctrl-C stops it)")

    run_simulator(host, port, known, callback_delay, on_ready=ready)


@click.group("credentials", help="Tenant secrets at rest.")
def credentials_cli():
    pass


@credentials_cli.command("rotate")
def credentials_rotate():
    """Re-encrypt every stored auth token with the first CREDENTIALS_KEY."""
    from .credentials import CredentialsError
    from .twilio_setup.settings import rotate_all

    try:
        count = rotate_all()
    except CredentialsError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Re-encrypted {count} auth token(s).")
