"""The inbox's rules: which conversations a person sees, a thread's messages and
what changed since the page was drawn, reading, assigning, closing and reopening,
and the media contacts sent. Plain functions over the models; callers commit."""

import logging
import mimetypes
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from ..extensions import db, end_transaction
from ..messaging.conversations import window_closes_at, window_is_open
from ..messaging.history import LIKE_ESCAPE, escape_like
from ..messaging.sending import Outgoing
from ..models import Conversation, Message, User
from ..templates_admin.catalog import check_values, render_preview
from ..twilio_gateway import TwilioError, fetch_media
from ..twilio_setup.settings import credentials_of, settings_for
from ..types import utcnow

logger = logging.getLogger(__name__)

LIST_SIZE = 30
THREAD_SIZE = 50
OWNERS = ("all", "mine", "unassigned")
STATES = ("open", "closed", "all")
STAFF_ROLES = ("admin", "agent")
MAX_SEARCH = 100

# A poll asks for changes after the moment its page was drawn, less this slack:
# a change stamped just before that moment but committed just after it is then
# still seen. The price is that a change can be answered twice, which is harmless.
CLOCK_SLACK = timedelta(seconds=2)
# Window labels count down by the minute, so a list older than this is redrawn
# even when no conversation changed.
LIST_MAX_AGE = timedelta(seconds=60)

# Media types served as they are; anything else is downloaded as opaque bytes.
# SVG is left out: it can carry script, and it would run on our own origin.
PASS_THROUGH = ("image/", "audio/", "video/", "application/pdf")
NOT_PASSED = ("image/svg+xml",)
OPAQUE = "application/octet-stream"


class InboxError(ValueError):
    """A change to a conversation is not acceptable; the message says why."""


class MediaUnavailable(Exception):
    """A media file cannot be fetched; the message says why in plain words."""


@dataclass
class ListFilters:
    owner: str = "all"
    state: str = "open"
    search: str = ""

    @classmethod
    def from_args(cls, args):
        """Read filters from query arguments, dropping values that mean nothing."""
        owner = args.get("owner")
        state = args.get("state")
        return cls(
            owner=owner if owner in OWNERS else "all",
            state=state if state in STATES else "open",
            search=(args.get("q") or "").strip()[:MAX_SEARCH],
        )

    def as_args(self):
        """The query arguments that differ from the defaults."""
        args = {"owner": self.owner, "state": self.state, "q": self.search}
        defaults = {"owner": "all", "state": "open", "q": ""}
        return {key: value for key, value in args.items() if value != defaults[key]}


@dataclass
class ThreadPage:
    """Up to THREAD_SIZE messages of a conversation, oldest first."""

    messages: list
    has_older: bool
    is_latest: bool

    @property
    def last_id(self):
        return self.messages[-1].id if self.messages else 0


@dataclass
class ThreadUpdates:
    """What a thread poll answers: messages stored after the last one shown,
    outbound messages already shown whose status changed, and whether the
    conversation itself changed or its window opened or closed."""

    new: list
    changed: list
    conversation_changed: bool = False
    window_changed: bool = False

    def __bool__(self):
        return bool(
            self.new or self.changed or self.conversation_changed or self.window_changed
        )

    @property
    def has_new_inbound(self):
        return any(message.direction == "inbound" for message in self.new)


def poll_mark(now=None):
    """The moment a page's pollers ask for changes after."""
    return (now or utcnow()) - CLOCK_SLACK


def parse_moment(text):
    """An ISO 8601 time from a query argument, in UTC; None if absent or malformed."""
    try:
        moment = datetime.fromisoformat(text or "")
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def window_state(conversation, now=None):
    return "open" if window_is_open(conversation, now) else "closed"


def window_label(conversation, now=None):
    """How long free-form replies stay allowed, e.g. "open for 3 h 12 min"."""
    closes_at = window_closes_at(conversation)
    now = now or utcnow()
    if closes_at is None or closes_at <= now:
        return "closed: template only"
    minutes = int((closes_at - now).total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"open for {hours} h {minutes} min"
    if minutes:
        return f"open for {minutes} min"
    return "open for less than a minute"


# The list -----------------------------------------------------------------


def conversations_page(tenant_id, filters, user_id, page=1):
    """One page of conversations, newest activity first: (rows, has_more)."""
    query = (
        conversations_query(tenant_id, filters, user_id)
        .options(selectinload(Conversation.assigned_user))
        .limit(LIST_SIZE + 1)
        .offset((page - 1) * LIST_SIZE)
    )
    rows = db.session.scalars(query).all()
    return rows[:LIST_SIZE], len(rows) > LIST_SIZE


def conversations_query(tenant_id, filters, user_id):
    """The tenant's conversations that pass the filters, newest activity first.

    Reads the conversations table only (its rows are kept current as messages are
    stored); a text search looks into the messages through an EXISTS.
    """
    query = sa.select(Conversation).where(Conversation.tenant_id == tenant_id)
    if filters.owner == "mine":
        query = query.where(Conversation.assigned_user_id == user_id)
    elif filters.owner == "unassigned":
        query = query.where(Conversation.assigned_user_id.is_(None))
    if filters.state != "all":
        query = query.where(Conversation.status == filters.state)
    if filters.search:
        query = query.where(search_condition(tenant_id, filters.search))
    return query.order_by(Conversation.last_message_at.desc(), Conversation.id.desc())


def search_condition(tenant_id, text):
    """Match the contact's name or number, or the text of any of its messages.

    `%` and `_` typed by a person are searched for literally, not as wildcards.
    """
    pattern = f"%{escape_like(text)}%"
    matches = [
        Conversation.contact_name.ilike(pattern, escape=LIKE_ESCAPE),
        Conversation.contact_number.like(pattern, escape=LIKE_ESCAPE),
        sa.exists().where(
            Message.tenant_id == tenant_id,
            Message.contact_number == Conversation.contact_number,
            Message.body.ilike(pattern, escape=LIKE_ESCAPE),
        ),
    ]
    digits = text.replace(" ", "").replace("-", "")
    if digits != text and digits.lstrip("+").isdigit():
        matches.append(
            Conversation.contact_number.like(
                f"%{escape_like(digits)}%", escape=LIKE_ESCAPE
            )
        )
    return sa.or_(*matches)


def list_is_current(tenant_id, since, now=None):
    """Whether a list drawn for changes after `since` still shows the truth."""
    now = now or utcnow()
    if since > now or now - since > LIST_MAX_AGE:
        return False
    changed = db.session.scalar(
        sa.select(
            sa.exists().where(
                Conversation.tenant_id == tenant_id, Conversation.updated_at > since
            )
        )
    )
    return not changed


# A thread -----------------------------------------------------------------


def thread_page(conversation, before_id=None):
    """The latest messages of a conversation, or those before message `before_id`."""
    query = _messages_of(conversation)
    if before_id is not None:
        anchor = db.session.scalar(query.where(Message.id == before_id))
        if anchor is not None:
            query = query.where(
                sa.or_(
                    Message.created_at < anchor.created_at,
                    sa.and_(
                        Message.created_at == anchor.created_at,
                        Message.id < anchor.id,
                    ),
                )
            )
    rows = db.session.scalars(
        query.order_by(Message.created_at.desc(), Message.id.desc()).limit(
            THREAD_SIZE + 1
        )
    ).all()
    return ThreadPage(
        messages=list(reversed(rows[:THREAD_SIZE])),
        has_older=len(rows) > THREAD_SIZE,
        is_latest=before_id is None,
    )


def thread_updates(conversation, after_id, since, window_shown=None):
    """Messages stored after message `after_id`; outbound messages up to it whose
    status changed after `since` (None: none asked for); whether the conversation
    changed after `since`, and whether its window is no longer `window_shown`."""
    # Safe on PostgreSQL too: a conversation's messages get their ids under its
    # row lock (see record_in_conversation), so none can commit after a higher id.
    new = db.session.scalars(
        _messages_of(conversation)
        .where(Message.id > after_id)
        .order_by(Message.id)
        .limit(THREAD_SIZE)
    ).all()
    changed = []
    if since is not None:
        changed = db.session.scalars(
            _messages_of(conversation)
            .where(
                Message.id <= after_id,
                Message.direction == "outbound",
                Message.updated_at > since,
            )
            .order_by(Message.id)
            .limit(THREAD_SIZE)
        ).all()
    return ThreadUpdates(
        new=new,
        changed=changed,
        conversation_changed=since is not None and conversation.updated_at > since,
        window_changed=window_shown is not None
        and window_shown != window_state(conversation),
    )


def _messages_of(conversation):
    # By tenant and contact, which an index serves, rather than by
    # conversation_id: the conversation is exactly that pair.
    return sa.select(Message).where(
        Message.tenant_id == conversation.tenant_id,
        Message.contact_number == conversation.contact_number,
    )


def mark_read(conversation):
    """Count the conversation's messages as read."""
    db.session.execute(
        sa.update(Conversation)
        .where(Conversation.id == conversation.id, Conversation.unread_count > 0)
        .values(unread_count=0, updated_at=utcnow())
    )


# Replies --------------------------------------------------------------------


def free_reply(conversation, body):
    """The send for a free-form reply (refused by sending outside the window)."""
    return Outgoing(to=conversation.contact_number, body=body, message_type="free")


def template_reply(conversation, template, values):
    """The send for a template reply; its body is the preview, filled in.

    Raises TemplateError naming the variable that is missing or not acceptable.
    """
    checked = check_values(template, values)
    return Outgoing(
        to=conversation.contact_number,
        body=render_preview(template, checked),
        message_type="template",
        content_sid=template.content_sid,
        content_variables=checked,
        template_id=template.id,
    )


# Who works on it --------------------------------------------------------------


def colleagues_of(tenant_id):
    """The tenant's active agents and admins, who may be assigned a conversation."""
    return db.session.scalars(
        sa.select(User)
        .where(
            User.tenant_id == tenant_id,
            User.active.is_(True),
            User.role.in_(STAFF_ROLES),
        )
        .order_by(User.name, User.email)
    ).all()


def assign(conversation, user_id, actor):
    """Give the conversation to a colleague of its tenant, or to nobody (None)."""
    if user_id is not None:
        colleague = db.session.scalar(
            sa.select(User.id).where(
                User.id == user_id,
                User.tenant_id == conversation.tenant_id,
                User.active.is_(True),
                User.role.in_(STAFF_ROLES),
            )
        )
        if colleague is None:
            raise InboxError("Choose an active agent or admin of this tenant.")
    conversation.assigned_user_id = user_id
    conversation.updated_at = utcnow()
    logger.info(
        "conversation %s assigned to user %s by user %s",
        conversation.id,
        user_id,
        actor.user_id,
    )


def close(conversation, actor):
    """Mark the conversation done; the contact writing again reopens it."""
    _set_status(conversation, "closed", actor)


def reopen(conversation, actor):
    _set_status(conversation, "open", actor)


def _set_status(conversation, status, actor):
    conversation.status = status
    conversation.updated_at = utcnow()
    logger.info("conversation %s %s by user %s", conversation.id, status, actor.user_id)


# Media ------------------------------------------------------------------------


def media_item(message, index):
    """The message's media entry at `index`, or None."""
    media = message.media or []
    return media[index] if 0 <= index < len(media) else None


def fetch_attachment(tenant_id, message, index):
    """The bytes and type of one media file, fetched from the tenant's Twilio
    account (Twilio keeps them behind basic auth). Ends the transaction first."""
    item = media_item(message, index)
    settings = settings_for(tenant_id)
    if item is None or settings is None:
        raise MediaUnavailable("This file is not available.")
    credentials = credentials_of(settings)

    end_transaction()
    try:
        return fetch_media(credentials, item["url"])
    except TwilioError as error:
        logger.warning(
            "media %s of message %s not fetched: code %s", index, message.id, error.code
        )
        raise MediaUnavailable(error.plain_words) from None


def served_as(content_type):
    """(type, inline) to serve a media file with: images inline; audio, video and
    PDF as themselves in an attachment; anything else as opaque bytes."""
    kind = (content_type or "").split(";")[0].strip().lower()
    if not kind.startswith(PASS_THROUGH) or kind in NOT_PASSED:
        return OPAQUE, False
    return kind, kind.startswith("image/")


def is_inline_image(content_type):
    return served_as(content_type)[1]


def attachment_name(message, index, content_type):
    extension = mimetypes.guess_extension(content_type) or ".bin"
    return f"message-{message.id}-{index + 1}{extension}"
