"""Column types that behave the same on SQLite and PostgreSQL."""

from datetime import UTC, datetime
from decimal import Decimal

import sqlalchemy as sa

MONEY_PLACES = 4
MONEY_QUANTUM = Decimal(1).scaleb(-MONEY_PLACES)


class Money(sa.types.TypeDecorator):
    """An exact amount with four decimal places, stored as whole ten-thousandths.

    SQLite has no decimal type (NUMERIC columns come back as floats), so storing
    integers is the one representation that is exact on both databases and lets
    the database itself compare and subtract amounts.
    """

    impl = sa.BigInteger
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        amount = Decimal(value)
        if amount != amount.quantize(MONEY_QUANTUM):
            raise ValueError(f"{amount} has more than {MONEY_PLACES} decimal places")
        return int(amount.scaleb(MONEY_PLACES))

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return Decimal(int(value)).scaleb(-MONEY_PLACES).quantize(MONEY_QUANTUM)

    def coerce_compared_value(self, op, value):
        return self


class UTCDateTime(sa.types.TypeDecorator):
    """A timezone-aware UTC timestamp, also on SQLite where it is stored naive."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("timestamps must be timezone-aware")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow():
    """The current time in UTC; the one clock the rules read."""
    return datetime.now(UTC)
