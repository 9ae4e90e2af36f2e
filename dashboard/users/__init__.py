"""A tenant's staff: tenant admins add people and switch them on and off."""

from flask import Blueprint

bp = Blueprint("users", __name__)

from . import routes  # noqa: E402, F401  (routes attach themselves to bp)
