"""WhatsApp templates: tenant admins register approved Twilio Content templates
or import them from their Twilio account; agents send them from the inbox."""

from flask import Blueprint

bp = Blueprint("templates_admin", __name__)

from . import routes  # noqa: E402, F401  (routes attach themselves to bp)
