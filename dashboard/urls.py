"""Public addresses of the JSON API and of the webhooks Twilio calls. They are
part of the product's stable interface (integrators code against them, tenants
paste the webhooks into the Twilio Console), so they are fixed here once and
used by the routes, the sending rule and the setup page alike."""

from flask import current_app

# Everything under here is for software, not people: answers are JSON and no
# cookie session is opened.
MACHINE_PATHS = "/api/"
API_PREFIX = MACHINE_PATHS + "whatsapp"
WEBHOOKS_PREFIX = API_PREFIX + "/webhooks/"
STATUS_WEBHOOK_PATH = WEBHOOKS_PREFIX + "status"
INCOMING_WEBHOOK_PATH = WEBHOOKS_PREFIX + "incoming"


def public_url(path):
    """The address Twilio reaches `path` at (PUBLIC_BASE_URL + path)."""
    return current_app.config["PUBLIC_BASE_URL"] + path


def is_for_machines(path):
    """True for the JSON API and the webhooks (see MACHINE_PATHS)."""
    return path.startswith(MACHINE_PATHS)
