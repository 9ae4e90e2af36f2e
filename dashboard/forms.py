"""Form pieces shared by several areas."""

from decimal import Decimal, InvalidOperation

from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import ValidationError

from .types import MONEY_PLACES


class EmptyForm(FlaskForm):
    """Only the CSRF token, for buttons that POST."""


class AmountField(StringField):
    """A money amount typed by a person: exact, positive, four places at most."""

    def __init__(self, label=None, maximum=Decimal("100000"), **kwargs):
        super().__init__(label, **kwargs)
        self.maximum = maximum
        self.amount = None

    def pre_validate(self, form):
        self.amount = None
        text = (self.data or "").strip().replace(",", "")
        if not text:
            raise ValidationError("Enter an amount.")
        try:
            amount = Decimal(text)
        except InvalidOperation:
            raise ValidationError("Enter a number such as 25 or 12.50.") from None
        if not amount.is_finite():
            raise ValidationError("Enter a number such as 25 or 12.50.")
        if amount <= 0:
            raise ValidationError("The amount must be greater than zero.")
        if amount.as_tuple().exponent < -MONEY_PLACES:
            raise ValidationError(
                f"Use at most {MONEY_PLACES} decimal places (e.g. 0.0275)."
            )
        if amount > self.maximum:
            raise ValidationError(f"The amount can be at most {self.maximum:,}.")
        self.amount = amount
