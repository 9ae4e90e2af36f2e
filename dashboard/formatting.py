"""How amounts, times and numbers read on the pages."""

from decimal import Decimal

from .types import MONEY_QUANTUM


def money(value):
    """An exact amount with its four decimal places, e.g. `12.0275`."""
    if value is None:
        return ""
    return f"{Decimal(value).quantize(MONEY_QUANTUM):,}"


def timestamp(value):
    if value is None:
        return ""
    return value.strftime("%Y-%m-%d %H:%M:%S UTC")


def register_filters(app):
    app.add_template_filter(money, "money")
    app.add_template_filter(timestamp, "timestamp")
