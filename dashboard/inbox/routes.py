"""The inbox pages and the fragments htmx swaps into them. Agents and admins work
the inbox; operators, who run the service, do not read tenants' conversations."""

from dataclasses import dataclass, field

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..access import role_required, scoped_or_404, tenant_or_404
from ..audit import Actor
from ..extensions import db
from ..formatting import money
from ..messaging.conversations import window_is_open
from ..messaging.sending import SendError, TwilioRefused, send
from ..models import Conversation, Message, Template
from ..templates_admin.catalog import TemplateError, templates_of
from . import bp, threads
from .forms import AssignForm, ReplyForm, TemplateReplyForm

STAFF = threads.STAFF_ROLES
MAX_PAGE = 1000


@dataclass
class ReplyBox:
    """What the reply box shows: the free-form form, the template form with the
    selected template, the values typed for its variables and their errors."""

    free: ReplyForm
    template_form: TemplateReplyForm
    templates: list
    template: Template | None
    values: dict = field(default_factory=dict)
    errors: dict = field(default_factory=dict)


@bp.context_processor
def inbox_helpers():
    return {
        "window_label": threads.window_label,
        "window_is_open": window_is_open,
        "window_state": threads.window_state,
        "is_inline_image": threads.is_inline_image,
    }


# The list -----------------------------------------------------------------------


@bp.get("/tenants/<int:tenant_id>/inbox")
@role_required(*STAFF)
def index(tenant_id):
    tenant = tenant_or_404(tenant_id)
    return render_template("inbox/index.html", tenant=tenant, **_listing(tenant))


@bp.get("/tenants/<int:tenant_id>/inbox/conversations")
@role_required(*STAFF)
def conversations(tenant_id):
    """The list region alone; 204 (nothing to swap) if unchanged since `since`."""
    tenant = tenant_or_404(tenant_id)

    since = threads.parse_moment(request.args.get("since"))
    if since is not None and threads.list_is_current(tenant.id, since):
        return _unchanged()
    return render_template("inbox/_list.html", tenant=tenant, **_listing(tenant))


def _listing(tenant):
    since = threads.poll_mark()
    filters = threads.ListFilters.from_args(request.args)
    page = min(max(1, request.args.get("page", 1, type=int)), MAX_PAGE)
    rows, has_more = threads.conversations_page(
        tenant.id, filters, current_user.id, page
    )
    return {
        "filters": filters,
        "conversations": rows,
        "page": page,
        "has_more": has_more,
        "since": since.isoformat(),
    }


# A thread -----------------------------------------------------------------------


@bp.get("/tenants/<int:tenant_id>/inbox/<int:conversation_id>")
@role_required(*STAFF)
def thread(tenant_id, conversation_id):
    """The conversation's latest messages (or older ones); opening it reads it."""
    tenant = tenant_or_404(tenant_id)
    conversation = scoped_or_404(Conversation, conversation_id, tenant.id)
    before = request.args.get("before", type=int)

    if before is None:
        threads.mark_read(conversation)
    page = render_template(
        "inbox/thread.html", **_thread_context(tenant, conversation, before=before)
    )
    db.session.commit()
    return page


@bp.get("/tenants/<int:tenant_id>/inbox/<int:conversation_id>/messages")
@role_required(*STAFF)
def messages(tenant_id, conversation_id):
    """Messages after `after` and status changes after `since`; 204 if none."""
    tenant = tenant_or_404(tenant_id)
    conversation = scoped_or_404(Conversation, conversation_id, tenant.id)
    after = max(0, request.args.get("after", 0, type=int))
    since = threads.parse_moment(request.args.get("since"))
    window_shown = request.args.get("window")

    mark = threads.poll_mark()
    updates = threads.thread_updates(conversation, after, since, window_shown)
    if not updates:
        return _unchanged()
    if updates.has_new_inbound:
        threads.mark_read(conversation)
    context = {"tenant": tenant, "conversation": conversation, "updates": updates}
    if updates.conversation_changed:
        context["assign_form"] = _assign_form(tenant, conversation)
    if updates.window_changed:
        context["box"] = _reply_box(tenant)
    page = render_template(
        "inbox/_updates.html",
        after=updates.new[-1].id if updates.new else after,
        since=mark.isoformat(),
        **context,
    )
    db.session.commit()
    return page


@bp.get("/tenants/<int:tenant_id>/inbox/media/<int:message_id>/<int:index>")
@role_required(*STAFF)
def media(tenant_id, message_id, index):
    """A file a contact sent, fetched from the tenant's Twilio account."""
    tenant = tenant_or_404(tenant_id)
    message = scoped_or_404(Message, message_id, tenant.id)
    if threads.media_item(message, index) is None:
        abort(404)

    try:
        content, content_type = threads.fetch_attachment(tenant.id, message, index)
    except threads.MediaUnavailable as error:
        abort(502, description=str(error))

    served, inline = threads.served_as(content_type)
    response = Response(content, mimetype=served)
    response.headers.set(
        "Content-Disposition",
        "inline" if inline else "attachment",
        filename=threads.attachment_name(message, index, served),
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


# Replies ------------------------------------------------------------------------


@bp.post("/tenants/<int:tenant_id>/inbox/<int:conversation_id>/reply")
@role_required(*STAFF)
def reply(tenant_id, conversation_id):
    tenant = tenant_or_404(tenant_id)
    conversation = scoped_or_404(Conversation, conversation_id, tenant.id)
    if "template_id" in request.form:
        return _reply_with_template(tenant, conversation)

    form = ReplyForm()
    box = _reply_box(tenant, free=form)
    if not form.validate_on_submit():
        return _reply_refused(tenant, conversation, box, 422)

    outgoing = threads.free_reply(conversation, form.body.data)
    return _send_reply(tenant, conversation, outgoing, box, form.body)


def _reply_with_template(tenant, conversation):
    form = TemplateReplyForm().offer(templates_of(tenant.id))
    if not form.validate_on_submit():
        return _reply_refused(
            tenant, conversation, _reply_box(tenant, template_form=form), 422
        )

    template = scoped_or_404(Template, form.template_id.data, tenant.id)
    values = {key: request.form.get(f"var_{key}", "") for key in template.variables}
    box = _reply_box(tenant, template_form=form, template=template, values=values)
    try:
        outgoing = threads.template_reply(conversation, template, values)
    except TemplateError as error:
        box.errors[error.field] = str(error)
        return _reply_refused(tenant, conversation, box, 422)
    return _send_reply(tenant, conversation, outgoing, box, form.template_id)


def _send_reply(tenant, conversation, outgoing, box, at_fault):
    try:
        message = send(tenant.id, outgoing, Actor.for_user(current_user))
    except TwilioRefused as refused:
        return _changed(
            tenant, conversation, f"Twilio refused the message: {refused}", "error"
        )
    except SendError as error:
        at_fault.errors = [*at_fault.errors, str(error)]
        status = 402 if error.status == 402 else 422
        return _reply_refused(tenant, conversation, box, status)
    return _changed(
        tenant, conversation, f"Sent, charged {money(message.cost)}.", "success"
    )


@bp.get("/tenants/<int:tenant_id>/inbox/template-fields")
@role_required(*STAFF)
def template_fields(tenant_id):
    """The inputs for the variables of the template chosen in the reply box."""
    tenant = tenant_or_404(tenant_id)
    template = scoped_or_404(
        Template, request.args.get("template_id", type=int), tenant.id
    )
    return render_template(
        "inbox/_template_fields.html", box=_reply_box(tenant, template=template)
    )


def _reply_box(tenant, free=None, template_form=None, template=None, values=None):
    templates = templates_of(tenant.id)
    if template_form is None:
        template_form = TemplateReplyForm(formdata=None)
    template_form.offer(templates)
    if template is None and templates:
        chosen = template_form.template_id.data
        template = next((t for t in templates if t.id == chosen), templates[0])
    if template is not None:
        template_form.template_id.data = template.id
    return ReplyBox(
        free=free or ReplyForm(formdata=None),
        template_form=template_form,
        templates=templates,
        template=template,
        values=values or {},
    )


def _reply_refused(tenant, conversation, box, status):
    context = _thread_context(tenant, conversation, box=box)
    if _is_htmx():
        return render_template("inbox/_thread.html", **context), status
    return render_template("inbox/thread.html", **context), status


# Who works on it ----------------------------------------------------------------


@bp.post("/tenants/<int:tenant_id>/inbox/<int:conversation_id>/assign")
@role_required(*STAFF)
def assign(tenant_id, conversation_id):
    tenant = tenant_or_404(tenant_id)
    conversation = scoped_or_404(Conversation, conversation_id, tenant.id)

    form = AssignForm().offer(threads.colleagues_of(tenant.id))
    if not form.validate_on_submit():
        return _changed(
            tenant,
            conversation,
            "Choose an active agent or admin of this tenant.",
            "error",
            422,
        )

    user_id = int(form.user_id.data) if form.user_id.data else None
    try:
        threads.assign(conversation, user_id, Actor.for_user(current_user))
    except threads.InboxError as error:
        return _changed(tenant, conversation, str(error), "error", 422)
    db.session.commit()

    who = conversation.assigned_user
    text = f"Assigned to {who.display_name}." if who else "Assigned to nobody."
    return _changed(tenant, conversation, text, "success")


@bp.post("/tenants/<int:tenant_id>/inbox/<int:conversation_id>/close")
@role_required(*STAFF)
def close(tenant_id, conversation_id):
    tenant = tenant_or_404(tenant_id)
    conversation = scoped_or_404(Conversation, conversation_id, tenant.id)

    threads.close(conversation, Actor.for_user(current_user))
    db.session.commit()

    text = "Closed. It opens again when the contact writes."
    return _changed(tenant, conversation, text, "success")


@bp.post("/tenants/<int:tenant_id>/inbox/<int:conversation_id>/reopen")
@role_required(*STAFF)
def reopen(tenant_id, conversation_id):
    tenant = tenant_or_404(tenant_id)
    conversation = scoped_or_404(Conversation, conversation_id, tenant.id)

    threads.reopen(conversation, Actor.for_user(current_user))
    db.session.commit()

    return _changed(tenant, conversation, "Reopened.", "success")


# Answers ------------------------------------------------------------------------


def _thread_context(tenant, conversation, box=None, before=None, notice=None):
    since = threads.poll_mark()
    return {
        "tenant": tenant,
        "conversation": conversation,
        "page": threads.thread_page(conversation, before),
        "box": box or _reply_box(tenant),
        "assign_form": _assign_form(tenant, conversation),
        "since": since.isoformat(),
        "notice": notice,
    }


def _assign_form(tenant, conversation):
    form = AssignForm(formdata=None, user_id=str(conversation.assigned_user_id or ""))
    return form.offer(threads.colleagues_of(tenant.id))


def _changed(tenant, conversation, text, category, status=200):
    """After a change: the thread region for htmx, else a flash and the page."""
    if _is_htmx():
        context = _thread_context(tenant, conversation, notice=(category, text))
        return render_template("inbox/_thread.html", **context), status
    flash(text, category)
    return redirect(
        url_for("inbox.thread", tenant_id=tenant.id, conversation_id=conversation.id),
        code=303,
    )


def _unchanged():
    return Response(status=204)


def _is_htmx():
    return request.headers.get("HX-Request") == "true"
