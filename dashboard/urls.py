"""Public addresses Twilio calls. They are part of the product's stable interface
(tenants paste them into the Twilio Console), so they are fixed here once and
used by the routes, the sending rule and the setup page alike."""

from flask import current_app

STATUS_WEBHOOK_PATH = "/api/whatsapp/webhooks/status"
INCOMING_WEBHOOK_PATH = "/api/whatsapp/webhooks/incoming"


def public_url(path):
    """The address Twilio reaches `path` at (PUBLIC_BASE_URL + path)."""
    return current_app.config["PUBLIC_BASE_URL"] + path
