from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length


class NewTokenForm(FlaskForm):
    name = StringField(
        "What the token is for",
        validators=[DataRequired(message="Name the token."), Length(max=120)],
    )
