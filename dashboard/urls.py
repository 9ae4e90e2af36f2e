"""Public addresses Twilio calls. They are part of the product's stable interface
(tenants paste them into the Twilio Console), so they are fixed here once and
used by the routes, the sending rule and the setup page alike."""

from flask import current_app

API_PREFIX = "/api/whatsapp"
WEBHOOKS_PREFIX = API_PREFIX + "/webhooks/"
STATUS_WEBHOOK_PATH = WEBHOOKS_PREFIX + "status"
INCOMING_WEBHOOK_PATH = WEBHOOKS_PREFIX + "incoming"


def public_url(path):
    """The address Twilio reaches `path` at (PUBLIC_BASE_URL + path)."""
    return current_app.config["PUBLIC_BASE_URL"] + path
