"""Messages: sending, statuses, incoming messages, conversations and history."""

from flask import Blueprint

bp = Blueprint("messages", __name__)

from . import routes  # noqa: E402, F401  (routes attach themselves to bp)
