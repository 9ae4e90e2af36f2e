from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Email, Length

from ..auth.accounts import MIN_PASSWORD_LENGTH


class NewTenantForm(FlaskForm):
    name = StringField("Tenant name", validators=[DataRequired(), Length(max=120)])
    admin_email = EmailField(
        "First admin's email", validators=[DataRequired(), Email(), Length(max=254)]
    )
    admin_password = PasswordField(
        "First admin's password",
        validators=[DataRequired(), Length(min=MIN_PASSWORD_LENGTH, max=200)],
    )
