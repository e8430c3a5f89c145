"""Internal notes in a transcript: labelled "Note" and styled apart from messages, so nobody takes one for a reply."""
from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.widgets import Static

from tui.i18n import _
from tui.text import literal, short_time
from tui.transcript import ConversationView, NoteView
from tui.widgets.message_view import MessageBox


class NoteBox(Static):
    """One note; the body is never parsed as markup."""

    def __init__(self, note: NoteView, now: datetime) -> None:
        heading = Text()
        heading.append(_("Note"), style="bold black on yellow")
        heading.append(" ")
        heading.append_text(literal(note.author_name, "bold yellow", one_line=True))
        heading.append(" · " + _("only agents see this"), style="dim")
        heading.append(" · " + short_time(note.created_at, now), style="dim")
        super().__init__(Text.assemble(heading, "\n", literal(note.body)), classes="internal-note", markup=False)


def transcript_boxes(view: ConversationView, now: datetime) -> list[Static]:
    """The messages of view with its notes placed after the message each follows, in writing order."""
    notes = sorted(view.notes, key=lambda note: note.after_seq)
    boxes: list[Static] = []
    pending = 0
    for message in view.messages:
        while pending < len(notes) and notes[pending].after_seq < message.seq:
            boxes.append(NoteBox(notes[pending], now))
            pending += 1
        boxes.append(MessageBox(message, now))
    boxes.extend(NoteBox(note, now) for note in notes[pending:])
    return boxes
