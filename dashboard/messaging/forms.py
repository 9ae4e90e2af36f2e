from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from .sending import MAX_BODY


class SendForm(FlaskForm):
    to = StringField(
        "To", validators=[DataRequired(), Length(max=32)], description="+5511999999999"
    )
    body = TextAreaField("Message", validators=[DataRequired(), Length(max=MAX_BODY)])
