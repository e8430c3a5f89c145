"""Attachments in the widget in a real browser (Debian's headless Chromium, real uvicorn): the attach button, a
pasted screenshot, thumbnails and download links in the transcript, and a refusal shown to the end user."""
from __future__ import annotations

import hashlib
import struct
import zlib

import pytest
from playwright.sync_api import expect
from sqlmodel import select

from core.models import Attachment, AttachmentBlob
from tests.widget.test_browser import _start, browser, page, site  # noqa: F401  (the module's browser fixtures)

pytestmark = pytest.mark.browser


def png(width: int = 6, height: int = 4) -> bytes:
    rows = b"".join(b"\x00" + bytes((x * 40 + y * 20) % 256 for x in range(width * 3)) for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def stored(widget_site) -> list[tuple[Attachment, bytes]]:
    with widget_site.db.read_session() as session:
        return [(a, session.get(AttachmentBlob, a.sha256).content)
                for a in session.exec(select(Attachment).order_by(Attachment.id))]


def test_the_attach_button_uploads_a_file_that_shows_as_a_thumbnail_and_downloads(page, site, tmp_path):  # noqa: F811
    _start(page, site)
    picture = tmp_path / "Bildschirmfoto.png"
    picture.write_bytes(png())
    button = page.locator(".tl-attach")
    expect(button).to_have_attribute("aria-label", "Datei anhängen")  # labelled, in the browser's language (de-DE)
    with page.expect_file_chooser() as chooser:
        button.click()
    chooser.value.set_files(str(picture))
    thumbnail = page.locator(".tl-end_user .tl-thumbnail").last
    expect(thumbnail).to_have_attribute("alt", "Bildschirmfoto.png")
    page.wait_for_function("img => img.complete && img.naturalWidth === 6", arg=thumbnail.element_handle())
    expect(page.locator(".tl-attach-status")).to_have_text("Bildschirmfoto.png gesendet.")
    attachment, content = stored(site)[-1]
    assert attachment.name == "Bildschirmfoto.png" and content == picture.read_bytes()
    assert attachment.sha256 == hashlib.sha256(picture.read_bytes()).hexdigest()
    href = page.locator(".tl-end_user .tl-file-link").last.get_attribute("href")
    response = page.request.get(href)
    assert response.status == 200 and response.body() == picture.read_bytes()
    assert response.headers["content-disposition"].startswith("attachment;")


def test_a_pasted_screenshot_is_sent_as_a_file(page, site):  # noqa: F811
    _start(page, site)
    before = len(stored(site))
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site.url)
    page.evaluate("""async () => {
        const canvas = document.createElement('canvas');
        canvas.width = 5; canvas.height = 3;
        const context = canvas.getContext('2d');
        context.fillStyle = '#c03'; context.fillRect(0, 0, 5, 3);
        const blob = await new Promise(resolve => canvas.toBlob(resolve, 'image/png'));
        await navigator.clipboard.write([new ClipboardItem({'image/png': blob})]);
    }""")
    page.locator(".tl-input").focus()
    page.keyboard.press("Control+V")
    thumbnail = page.locator(".tl-end_user .tl-thumbnail").last
    expect(thumbnail).to_be_visible()
    page.wait_for_function("img => img.complete && img.naturalWidth === 5", arg=thumbnail.element_handle())
    attachments = stored(site)
    assert len(attachments) == before + 1
    attachment, content = attachments[-1]
    assert attachment.content_type == "image/png" and content.startswith(b"\x89PNG")
    assert page.locator(".tl-input").input_value() == ""  # nothing pasted as text


def test_a_refused_file_shows_the_servers_reason(page, site, tmp_path):  # noqa: F811
    _start(page, site)
    program = tmp_path / "setup.png"
    program.write_bytes(b"MZ\x90\x00\x03" + bytes(200))
    with page.expect_file_chooser() as chooser:
        page.locator(".tl-attach").click()
    chooser.value.set_files(str(program))
    # The server's reason, in the end user's language.
    expect(page.locator(".tl-error")).to_contain_text("kann nicht angehängt werden")
    expect(page.locator(".tl-attach-status")).to_be_hidden()
