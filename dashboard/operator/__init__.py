"""The operator's view across tenants: who exists, balances and spend."""

from flask import Blueprint

bp = Blueprint("operator", __name__, url_prefix="/operator")

from . import routes  # noqa: E402, F401  (routes attach themselves to bp)
