"""A tenant's WhatsApp templates: registering them by hand or importing them from
the tenant's Twilio account (Content API), removing them, and filling in their
variables for a send."""

import logging
import re

import sqlalchemy as sa

from .. import audit
from ..extensions import db, end_transaction
from ..models import Template, Tenant
from ..twilio_gateway import list_templates
from ..twilio_setup.settings import credentials_of, settings_for

logger = logging.getLogger(__name__)

CATEGORIES = ("utility", "marketing", "authentication")
CONTENT_SID = re.compile(r"HX[0-9a-f]{32}")
VARIABLE_KEY = re.compile(r"[A-Za-z0-9_]{1,40}")
PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")
MAX_NAME = 120
MAX_PREVIEW = 1024  # WhatsApp's limit on a template's body
MAX_VALUE = 200
# WhatsApp refuses a variable holding a line break, a tab or five spaces in a row.
UNSENDABLE_VALUE = re.compile(r"[\r\n\t]| {5,}")


class TemplateError(ValueError):
    """A template or its values are not acceptable; `field` names the one at
    fault (a form field, a variable key, or None for the request as a whole)."""

    def __init__(self, field, text):
        self.field = field
        super().__init__(text)


def templates_of(tenant_id):
    """The tenant's templates, by name."""
    return db.session.scalars(
        sa.select(Template)
        .where(Template.tenant_id == tenant_id)
        .order_by(Template.name, Template.id)
    ).all()


def add_template(tenant_id, name, content_sid, variables, preview, category, actor):
    """Register an approved template for the tenant; the caller commits."""
    name = (name or "").strip()
    content_sid = (content_sid or "").strip()
    keys = [str(key).strip() for key in variables or ()]
    preview = (preview or "").strip()
    category = (category or "").strip().lower()

    if not name:
        raise TemplateError("name", "Give the template a name.")
    if len(name) > MAX_NAME:
        raise TemplateError("name", f"A name can have at most {MAX_NAME} characters.")
    if not CONTENT_SID.fullmatch(content_sid):
        raise TemplateError(
            "content_sid",
            "A ContentSid is HX followed by 32 hex digits, as the Twilio Console "
            "shows it.",
        )
    keys = _checked_keys(keys)
    _check_preview(preview, keys)
    if category not in CATEGORIES:
        raise TemplateError("category", f"Choose one of: {', '.join(CATEGORIES)}.")

    _lock_templates_of(tenant_id)
    registered = _template_with_sid(tenant_id, content_sid)
    if registered is not None:
        raise TemplateError(
            "content_sid",
            f"This ContentSid is already registered as “{registered.name}”.",
        )

    template = Template(
        tenant_id=tenant_id,
        name=name,
        content_sid=content_sid,
        variables=keys,
        preview=preview,
        category=category,
    )
    db.session.add(template)
    db.session.flush()
    audit.record(
        "template.added",
        actor,
        tenant_id=tenant_id,
        template_id=template.id,
        content_sid=content_sid,
    )
    return template


def delete_template(template, actor):
    """Remove a template; messages sent with it keep their ContentSid. The caller
    commits."""
    audit.record(
        "template.deleted",
        actor,
        tenant_id=template.tenant_id,
        template_id=template.id,
        content_sid=template.content_sid,
    )
    db.session.delete(template)


def import_from_twilio(tenant, actor):
    """Add or refresh the tenant's templates from its Twilio account; commits.

    Matched by ContentSid, so importing again changes nothing that Twilio has not
    changed. Templates missing from Twilio are kept. Answers (added, updated).
    Raises TemplateError when Twilio is not connected and TwilioError when Twilio
    refuses or cannot be reached; nothing is saved in either case.
    """
    tenant_id = tenant.id
    settings = settings_for(tenant_id)
    if settings is None:
        raise TemplateError(
            None, "Connect the tenant's Twilio account first, on the Twilio page."
        )
    credentials = credentials_of(settings)

    end_transaction()
    contents = list_templates(credentials)

    _lock_templates_of(tenant_id)
    registered = {
        template.content_sid: template for template in templates_of(tenant_id)
    }
    added = updated = 0
    for content in contents:
        fields = _fields_from_twilio(content)
        if fields is None:
            continue
        template = registered.get(fields["content_sid"])
        if template is None:
            template = Template(tenant_id=tenant_id, category="utility", **fields)
            db.session.add(template)
            registered[template.content_sid] = template
            added += 1
        elif any(getattr(template, key) != value for key, value in fields.items()):
            for key, value in fields.items():
                setattr(template, key, value)
            updated += 1

    if added or updated:
        audit.record(
            "template.imported",
            actor,
            tenant_id=tenant_id,
            added=added,
            updated=updated,
        )
    db.session.commit()
    logger.info(
        "templates imported for tenant %s: %s added, %s updated",
        tenant_id,
        added,
        updated,
    )
    return added, updated


def render_preview(template, values):
    """The template's preview text with each `{{key}}` replaced by its value.

    Placeholders without a value stay as they are, so a half-filled preview shows
    what is still missing. Values are inserted once, never read as placeholders.
    """
    values = {str(key): value for key, value in (values or {}).items()}

    def fill(match):
        value = values.get(match.group(1))
        return match.group(0) if value is None or value == "" else str(value)

    return PLACEHOLDER.sub(fill, template.preview or "")


def check_values(template, values):
    """The values for a send, trimmed, one for each of the template's variables.

    Raises TemplateError naming the variable that is unknown, missing, empty,
    longer than 200 characters or holding what WhatsApp refuses.
    """
    values = {str(key): value for key, value in (values or {}).items()}

    unknown = [key for key in values if key not in template.variables]
    if unknown:
        raise TemplateError(
            unknown[0],
            f"“{template.name}” has no variable {_placeholder(unknown[0])}.",
        )

    checked = {}
    for key in template.variables:
        value = values.get(key)
        text = "" if value is None else str(value).strip()
        if not text:
            raise TemplateError(key, f"Fill in {_placeholder(key)}.")
        if len(text) > MAX_VALUE:
            raise TemplateError(
                key, f"{_placeholder(key)} can have at most {MAX_VALUE} characters."
            )
        if UNSENDABLE_VALUE.search(text):
            raise TemplateError(
                key,
                f"{_placeholder(key)} cannot hold line breaks, tabs or more than "
                "four spaces in a row; WhatsApp refuses them.",
            )
        checked[key] = text
    return checked


def _checked_keys(keys):
    for key in keys:
        if not VARIABLE_KEY.fullmatch(key):
            raise TemplateError(
                "variables",
                f"“{key}” is not a variable key: use numbers such as 1, 2 "
                "(or letters, digits and _).",
            )
    if len(set(keys)) != len(keys):
        twice = next(key for key in keys if keys.count(key) > 1)
        raise TemplateError("variables", f"“{twice}” is listed twice.")
    return sorted(keys, key=_key_order)


def _check_preview(preview, keys):
    if len(preview) > MAX_PREVIEW:
        raise TemplateError(
            "preview", f"A preview can have at most {MAX_PREVIEW} characters."
        )
    for key in PLACEHOLDER.findall(preview):
        if key not in keys:
            raise TemplateError(
                "preview",
                f"The preview uses {_placeholder(key)}, which is not among the "
                "variables.",
            )


def _lock_templates_of(tenant_id):
    """Take the tenant's row lock until commit, so that two imports (or an import
    and an add) never insert the same ContentSid at once.

    FOR NO KEY UPDATE leaves inserts that only reference the tenant unblocked.
    SQLite has no row locks; its writers are already serialised.
    """
    db.session.execute(
        sa.select(Tenant.id)
        .where(Tenant.id == tenant_id)
        .with_for_update(key_share=True)
    )


def _template_with_sid(tenant_id, content_sid):
    return db.session.scalar(
        sa.select(Template).where(
            Template.tenant_id == tenant_id, Template.content_sid == content_sid
        )
    )


def _fields_from_twilio(content):
    """A template's fields from a Content API entry, or None if it is unusable."""
    sid = str(content.get("sid") or "")
    if not CONTENT_SID.fullmatch(sid):
        logger.warning("Twilio listed a template with a malformed sid; skipped")
        return None

    preview = _body_of(content.get("types") or {})
    keys = {str(key) for key in content.get("variables") or {}}
    keys.update(PLACEHOLDER.findall(preview))
    return {
        "content_sid": sid,
        "name": (str(content.get("name") or "").strip() or sid)[:MAX_NAME],
        "variables": sorted(
            (key for key in keys if VARIABLE_KEY.fullmatch(key)), key=_key_order
        ),
        "preview": preview,
    }


def _body_of(types):
    """The text body of a Content API template: its twilio/text body, else the
    body of its first type that has one (quick replies, list pickers...)."""
    text = types.get("twilio/text")
    candidates = [text] if isinstance(text, dict) else []
    candidates += [kind for kind in types.values() if isinstance(kind, dict)]
    for kind in candidates:
        body = kind.get("body")
        if isinstance(body, str) and body.strip():
            return body.strip()
    return ""


def _key_order(key):
    """Numbered keys in number order, then named ones alphabetically."""
    if key.isascii() and key.isdigit():
        return (0, int(key), "")
    return (1, 0, key)


def _placeholder(key):
    return "{{" + key + "}}"
