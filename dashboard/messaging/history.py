"""The message history: filters, search and pages over a tenant's messages."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa

from ..extensions import db
from ..models import DIRECTIONS, MESSAGE_TYPES, STATUS_RANK, Conversation, Message

LIKE_ESCAPE = "\\"
# A number fragment matching more contacts than this is too vague to list them all.
MAX_CONTACTS_SEARCHED = 500


@dataclass
class Filters:
    direction: str = ""
    status: str = ""
    message_type: str = ""
    date_from: date | None = None
    date_to: date | None = None
    search: str = ""

    @classmethod
    def from_args(cls, args):
        """Read filters from query arguments, dropping values that mean nothing."""
        return cls(
            direction=_one_of(args.get("direction"), DIRECTIONS),
            status=_one_of(args.get("status"), STATUS_RANK),
            message_type=_one_of(args.get("type"), MESSAGE_TYPES),
            date_from=_date(args.get("from")),
            date_to=_date(args.get("to")),
            search=(args.get("q") or "").strip()[:100],
        )

    def as_args(self):
        args = {
            "direction": self.direction,
            "status": self.status,
            "type": self.message_type,
            "from": self.date_from.isoformat() if self.date_from else "",
            "to": self.date_to.isoformat() if self.date_to else "",
            "q": self.search,
        }
        return {key: value for key, value in args.items() if value}


def history_query(tenant_id, filters):
    """Newest first; every condition is scoped to the tenant."""
    query = sa.select(Message).where(Message.tenant_id == tenant_id)
    if filters.direction:
        query = query.where(Message.direction == filters.direction)
    if filters.status:
        query = query.where(Message.status == filters.status)
    if filters.message_type:
        query = query.where(Message.message_type == filters.message_type)
    if filters.date_from:
        query = query.where(Message.created_at >= _start_of(filters.date_from))
    if filters.date_to:
        query = query.where(
            Message.created_at < _start_of(filters.date_to + timedelta(days=1))
        )
    if filters.search:
        query = query.where(search_condition(tenant_id, filters.search))
    return query.order_by(Message.created_at.desc(), Message.id.desc())


def search_condition(tenant_id, text):
    """Match a number (digits, maybe with +) or words in the body, taken literally:
    `%` and `_` typed by a person are searched for, not wildcards.

    A number is first looked up among the tenant's conversations (one row per
    contact); their messages then come from the (tenant, contact, time) index,
    which stays fast however long the history is.
    """
    digits = text.replace(" ", "").replace("-", "")
    if digits.lstrip("+").isdigit():
        contacts = db.session.scalars(
            sa.select(Conversation.contact_number)
            .where(
                Conversation.tenant_id == tenant_id,
                Conversation.contact_number.like(
                    f"%{escape_like(digits)}%", escape=LIKE_ESCAPE
                ),
            )
            .limit(MAX_CONTACTS_SEARCHED)
        ).all()
        return Message.contact_number.in_(contacts)
    return Message.body.ilike(f"%{escape_like(text)}%", escape=LIKE_ESCAPE)


def escape_like(text):
    return (
        text.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2)
        .replace("%", LIKE_ESCAPE + "%")
        .replace("_", LIKE_ESCAPE + "_")
    )


def _one_of(value, allowed):
    return value if value in allowed else ""


def _date(value):
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _start_of(day):
    return datetime.combine(day, time.min, tzinfo=UTC)


# Counting a large tenant's whole history costs more than the page itself; past
# this many matches the page says "more than 10,000" instead.
COUNT_CAP = 10_000


@dataclass
class HistoryPage:
    """One page of messages and how many match in all (capped at COUNT_CAP)."""

    items: list
    page: int
    per_page: int
    total: int
    total_is_exact: bool

    @property
    def pages(self):
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self):
        return self.page > 1

    @property
    def has_next(self):
        return self.page < self.pages

    @property
    def prev_num(self):
        return self.page - 1

    @property
    def next_num(self):
        return self.page + 1


def history_page(tenant_id, filters, page=1, per_page=25):
    """The messages of one page, newest first, with a bounded total."""
    query = history_query(tenant_id, filters)
    items = db.session.scalars(
        query.limit(per_page).offset((page - 1) * per_page)
    ).all()
    matching = (
        query.order_by(None).with_only_columns(Message.id).limit(COUNT_CAP + 1)
    ).subquery()
    counted = db.session.scalar(sa.select(sa.func.count()).select_from(matching))
    return HistoryPage(
        items=items,
        page=page,
        per_page=per_page,
        total=min(counted, COUNT_CAP),
        total_is_exact=counted <= COUNT_CAP,
    )
