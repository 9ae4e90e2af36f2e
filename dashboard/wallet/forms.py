from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import Length

from ..forms import AmountField


class TopUpForm(FlaskForm):
    amount = AmountField("Amount")
    note = StringField("Note", validators=[Length(max=200)])
