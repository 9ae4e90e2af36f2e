"""Error pages: 403, 404, CSRF failures and 500, as pages, fragments or JSON."""

from flask import Blueprint

bp = Blueprint("errors", __name__)

from . import handlers  # noqa: E402, F401  (handlers attach themselves to bp)
