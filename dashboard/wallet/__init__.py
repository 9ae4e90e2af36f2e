"""The prepaid wallet: balance, ledger and top-ups."""

from flask import Blueprint

bp = Blueprint("wallet", __name__)

from . import routes  # noqa: E402, F401  (routes attach themselves to bp)
