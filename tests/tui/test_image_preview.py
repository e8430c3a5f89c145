"""Pilot tests of the terminal image preview: v on an image in the file list shows it in a modal (Escape closes
it); on a file that is not an image, or an image that cannot be read, the agent is told why and how to open it."""
from __future__ import annotations

import io

from PIL import Image as PillowImage
from textual_image.widget import Image as TerminalImage

from core.attachments import AttachmentService
from core.models import AuthorKind
from tests.tui.helpers import rows_loaded, wait_for
from tui.screens.attachments import AttachmentPickScreen
from tui.screens.conversation import ConversationScreen
from tui.screens.image_preview import ImagePreviewScreen


def png(width: int = 40, height: int = 30) -> bytes:
    buffer = io.BytesIO()
    PillowImage.new("RGB", (width, height), (200, 30, 30)).save(buffer, "PNG")
    return buffer.getvalue()


def _end_user_sends(desk, name: str, content: bytes) -> None:
    with desk.db.session() as session:
        files = AttachmentService(session, desk.clock)
        files.post_file(desk.conversations["alex"], AuthorKind.end_user, files.check(name, content))


async def _pick_and_preview(app, pilot) -> None:
    await wait_for(pilot, lambda: rows_loaded(app), what="queue rows")
    await pilot.press("enter")  # the oldest waiting conversation: Alex's
    await wait_for(pilot, lambda: isinstance(app.screen, ConversationScreen) and bool(app.screen.shown
                                                                                     and app.screen.shown.files))
    await pilot.press("f")
    await wait_for(pilot, lambda: isinstance(app.screen, AttachmentPickScreen), what="picker")
    await pilot.press("v")


def _notices(app) -> list[str]:
    return [str(notification.message) for notification in app._notifications]


async def test_v_previews_a_png_in_a_modal_that_escape_closes(desk, make_console):
    _end_user_sends(desk, "screenshot.png", png())
    app = make_console()
    async with app.run_test(size=(120, 36)) as pilot:
        await _pick_and_preview(app, pilot)
        await wait_for(pilot, lambda: isinstance(app.screen, ImagePreviewScreen), what="preview")
        picture = app.screen.query_one(TerminalImage)
        assert (picture.image.width, picture.image.height) == (40, 30)
        await pilot.pause()
        assert picture.size.width > 0 and picture.size.height > 0  # drawn, not an empty box
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ConversationScreen), what="preview closed")


async def test_a_file_that_is_not_an_image_gets_a_clear_message(desk, make_console):
    _end_user_sends(desk, "invoice.pdf", b"%PDF-1.4\n%%EOF\n")
    app = make_console()
    async with app.run_test(size=(120, 36)) as pilot:
        await _pick_and_preview(app, pilot)
        await wait_for(pilot, lambda: any("not an image" in text for text in _notices(app)), what="notice")
        notice = next(text for text in _notices(app) if "not an image" in text)
        assert "invoice.pdf" in notice and "application/pdf" in notice and "Press f" in notice
        assert isinstance(app.screen, ConversationScreen)


async def test_an_image_that_cannot_be_read_gets_a_clear_message(desk, make_console):
    _end_user_sends(desk, "broken.png", b"\x89PNG\r\n\x1a\n" + bytes(range(200)))  # sniffed as PNG, not decodable
    app = make_console()
    async with app.run_test(size=(120, 36)) as pilot:
        await _pick_and_preview(app, pilot)
        await wait_for(pilot, lambda: any("could not be read" in text for text in _notices(app)), what="notice")
        assert not isinstance(app.screen, ImagePreviewScreen)
