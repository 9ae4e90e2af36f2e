from flask_wtf import FlaskForm
from wtforms import SelectField, TextAreaField
from wtforms.validators import DataRequired, Length

from ..messaging.sending import MAX_BODY


class ReplyForm(FlaskForm):
    """A free-form reply, allowed while the 24-hour window is open."""

    body = TextAreaField(
        "Message",
        validators=[DataRequired("Write a message."), Length(max=MAX_BODY)],
    )


class TemplateReplyForm(FlaskForm):
    """A template reply; the template's variables are read beside it, by key."""

    template_id = SelectField("Template", coerce=int)

    def offer(self, templates):
        self.template_id.choices = [(t.id, t.name) for t in templates]
        return self


class AssignForm(FlaskForm):
    user_id = SelectField("Assigned to", coerce=str)

    def offer(self, colleagues):
        self.user_id.choices = [("", "Nobody")] + [
            (str(user.id), user.display_name) for user in colleagues
        ]
        return self
