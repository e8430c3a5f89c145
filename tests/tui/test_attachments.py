"""Pilot tests of attachments in the console: listed under their message, opened or saved to ~/Downloads (no
display here), and a file attached to the reply with Ctrl+U through a path input that completes."""
from __future__ import annotations

from sqlmodel import select
from textual.widgets import Input

from core.attachments import AttachmentService
from core.models import Attachment, AttachmentBlob, AuthorKind, Message
from tests.tui.helpers import rows_loaded, screen_text, wait_for
from tui.screens.attachments import AttachFileScreen, AttachmentPickScreen
from tui.screens.conversation import ConversationScreen

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(200))


def _end_user_sends_a_file(desk, key: str) -> None:
    with desk.db.session() as session:
        files = AttachmentService(session, desk.clock)
        files.post_file(desk.conversations[key], AuthorKind.end_user, files.check("screen.png", PNG))


async def _open_alex(app, pilot):
    await wait_for(pilot, lambda: rows_loaded(app), what="queue rows")
    await pilot.press("enter")  # the oldest waiting conversation: Alex's
    await wait_for(pilot, lambda: isinstance(app.screen, ConversationScreen) and app.screen.shown is not None)


async def test_files_are_listed_and_saved_to_downloads_without_a_display(desk, make_console, tmp_path,
                                                                         monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    _end_user_sends_a_file(desk, "alex")
    app = make_console()
    async with app.run_test(size=(120, 36)) as pilot:
        await _open_alex(app, pilot)
        await wait_for(pilot, lambda: "screen.png · image/png · 208 bytes" in screen_text(app), what="file listed")
        await pilot.press("f")
        await wait_for(pilot, lambda: isinstance(app.screen, AttachmentPickScreen), what="picker")
        await pilot.press("enter")
        saved = tmp_path / "Downloads" / "screen.png"
        await wait_for(pilot, lambda: saved.exists() and saved.read_bytes() == PNG, what="file saved")
        await wait_for(pilot, lambda: any("saved to" in str(n.message) for n in app._notifications),
                       what="notice")
        # A second save never overwrites the first.
        await pilot.press("f")
        await wait_for(pilot, lambda: isinstance(app.screen, AttachmentPickScreen), what="picker")
        await pilot.press("enter")
        await wait_for(pilot, lambda: (tmp_path / "Downloads" / "screen (2).png").exists(), what="second copy")


async def test_ctrl_u_attaches_a_file_typed_with_completion(desk, make_console, tmp_path):
    folder = tmp_path / "invoices"
    folder.mkdir()
    (folder / "march-invoice.pdf").write_bytes(b"%PDF-1.4\n%%EOF\n")
    app = make_console()
    async with app.run_test(size=(120, 36)) as pilot:
        await _open_alex(app, pilot)
        await pilot.press("ctrl+u")
        await wait_for(pilot, lambda: isinstance(app.screen, AttachFileScreen), what="path input")
        await pilot.press(*f"{folder}/mar")
        path_input = app.screen.query_one(Input)
        await wait_for(pilot, lambda: path_input._suggestion == f"{folder}/march-invoice.pdf", what="completion")
        await pilot.press("right")  # accepts the completion
        assert path_input.value == f"{folder}/march-invoice.pdf"
        await pilot.press("enter")
        await wait_for(pilot, lambda: "march-invoice.pdf · application/pdf" in screen_text(app), what="file sent")
    with desk.db.read_session() as session:
        attachment = session.exec(select(Attachment)).one()
        message = session.get(Message, attachment.message_id)
        assert message.author_kind is AuthorKind.agent and message.conversation_id == desk.conversations["alex"]
        assert session.get(AttachmentBlob, attachment.sha256).content == b"%PDF-1.4\n%%EOF\n"


async def test_a_file_that_is_not_allowed_is_refused_with_the_reason(desk, make_console, tmp_path):
    program = tmp_path / "tool.exe"
    program.write_bytes(b"MZ\x90\x00" + bytes(100))
    app = make_console()
    async with app.run_test(size=(120, 36)) as pilot:
        await _open_alex(app, pilot)
        await pilot.press("ctrl+u")
        await wait_for(pilot, lambda: isinstance(app.screen, AttachFileScreen), what="path input")
        await pilot.press(*str(program), "enter")
        await wait_for(pilot, lambda: any("cannot be attached" in str(n.message) for n in app._notifications),
                       what="refusal")
    with desk.db.read_session() as session:
        assert session.exec(select(Attachment)).all() == []
