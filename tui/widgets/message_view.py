"""One message of a transcript: a heading (author, channel, time, delivery state) and the body shown literally."""
from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.widgets import Static

from core.delivery import DeliveryState
from core.models import AuthorKind
from tui.formatting import channel_label
from tui.i18n import _
from tui.text import literal, short_time
from tui.transcript import MessageView, file_line


def heading(message: MessageView, now: datetime) -> Text:
    text = Text()
    if message.author_kind is AuthorKind.system:
        text.append(_("Automatic message"), style="italic")
    else:
        style = "bold cyan" if message.author_kind is AuthorKind.agent else "bold green"
        text.append_text(literal(message.author_name or _("anonymous end user"), style, one_line=True))
    text.append(" · " + channel_label(message.channel), style="dim")
    text.append(" · " + short_time(message.created_at, now), style="dim")
    if message.author_kind is AuthorKind.agent:
        text.append(" · ")
        text.append_text(delivery(message, now))
    return text


def delivery(message: MessageView, now: datetime) -> Text:
    """Whether the end user has seen an agent message, or when it was emailed, or why the email failed."""
    if message.email_problem == "bounced":
        return Text(_("email bounced"), style="bold red")
    if message.email_problem == "failed":
        return Text(_("email failed"), style="bold red")
    emailed = _("emailed {time}").format(time=short_time(message.emailed_at, now)) if message.emailed_at else ""
    if message.seen_by_end_user:
        if emailed:
            return Text.assemble((emailed, "yellow"), " · ", (_("seen"), "green"))
        return Text(_("seen"), style="green")
    if emailed:
        return Text(emailed, style="yellow")
    if message.email_pending:
        return Text(_("email queued"), style="yellow")
    if not message.email_fallback:
        return Text(_("not seen · no email fallback"), style="dim")
    if message.delivery is DeliveryState.no_address:
        return Text(_("not seen · cannot be emailed: no email address"), style="yellow")
    return Text(_("not seen yet"), style="dim")


class MessageBox(Static):
    """A message in the transcript; the body is never parsed as markup."""

    def __init__(self, message: MessageView, now: datetime) -> None:
        body = Text.assemble(heading(message, now), "\n", literal(message.body))
        for file in message.files:
            body.append("\n📎 ", style="dim")
            body.append_text(literal(file_line(file), "italic", one_line=True))
        if message.email_problem and message.email_error:
            body.append("\n")
            body.append_text(literal(message.email_error, "red", one_line=True))
        classes = f"message {message.author_kind.value}"
        super().__init__(body, classes=classes, markup=False)
        self.seq = message.seq
