import re

from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from .catalog import CATEGORIES, MAX_NAME, MAX_PREVIEW


class TemplateForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=MAX_NAME)])
    content_sid = StringField("ContentSid", validators=[DataRequired()])
    variables = StringField("Variables", validators=[Length(max=500)])
    preview = TextAreaField("Preview", validators=[Length(max=MAX_PREVIEW)])
    category = SelectField(
        "Category",
        choices=[SelectChoice(category, category.title()) for category in CATEGORIES],
    )

    def variable_keys(self):
        """The keys typed in the variables field, e.g. "1, 2" → ["1", "2"]."""
        return [key for key in re.split(r"[,\s]+", self.variables.data or "") if key]
