"""The inbox: one thread per contact, read, replied to, assigned and closed by
the tenant's agents and admins."""

from flask import Blueprint

bp = Blueprint("inbox", __name__)

from . import routes  # noqa: E402, F401  (routes attach themselves to bp)
