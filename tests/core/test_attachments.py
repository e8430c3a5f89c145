"""Attachments in core: sniffing by content, names, limits, the content-addressed store, signed links, erasure."""
from __future__ import annotations

import hashlib
import io
import zipfile
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlmodel import func, select

from core.attachments import (
    AttachmentService,
    AttachmentTooLarge,
    AttachmentTypeNotAllowed,
    check_file,
    delete_attachments_of_end_user,
)
from core.conversations import ConversationService
from core.errors import NotFound
from core.file_types import (
    DOCX,
    GIF,
    JPEG,
    MAX_NAME_CHARS,
    PDF,
    PNG,
    TEXT,
    WEBP,
    XLSX,
    ZIP,
    clean_file_name,
    shown_inline,
    sniff_type,
)
from core.models import Attachment, AttachmentBlob
from core.tokens import TokenSigner

PNG_BYTES = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(50)
SIGNER = TokenSigner("test-secret-0123456789abcdef")


def _zip(names: list[str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in names:
            archive.writestr(name, "x")
    return buffer.getvalue()


@pytest.mark.parametrize("content, expected", [
    (PNG_BYTES, PNG),
    (b"\xff\xd8\xff\xe0\x00\x10JFIF" + bytes(20), JPEG),
    (b"GIF89a" + bytes(20), GIF),
    (b"RIFF\x24\x00\x00\x00WEBPVP8 " + bytes(20), WEBP),
    (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", PDF),
    ("Grüße,\r\nthe order is late.\t\n".encode(), TEXT),
    (b"", TEXT),
])
def test_types_are_known_by_their_first_bytes(content, expected):
    assert sniff_type(content) == expected


def test_office_documents_and_zips_are_told_apart_by_their_entries():
    assert sniff_type(_zip(["[Content_Types].xml", "word/document.xml"])) == DOCX
    assert sniff_type(_zip(["[Content_Types].xml", "xl/workbook.xml"])) == XLSX
    assert sniff_type(_zip(["photos/a.jpg"])) == ZIP
    assert sniff_type(b"PK\x03\x04 broken archive") == ZIP


def test_open_document_and_a_bomb_named_mimetype_are_read_only_a_little():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.text")
    assert sniff_type(buffer.getvalue()) == "application/vnd.oasis.opendocument.text"
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("mimetype", b"\0" * 20_000_000)  # 20 MB inflated, some KB stored
    assert sniff_type(bomb.getvalue()) == ZIP


@pytest.mark.parametrize("content", [
    b"MZ\x90\x00\x03\x00\x00\x00\x04\x00",  # a Windows executable
    b"\x7fELF\x02\x01\x01\x00",  # a Linux one
    b"\xca\xfe\xba\xbe\x00\x00",
    "caf\xe9".encode("latin-1") + bytes(3),  # neither UTF-8 nor free of NUL bytes
])
def test_other_content_is_not_allowed_whatever_its_name(content):
    assert sniff_type(content) is None
    with pytest.raises(AttachmentTypeNotAllowed):
        check_file("photo.png", content, 1000)


def test_the_name_never_decides_the_type():
    assert check_file("invoice.pdf", PNG_BYTES, 1000).content_type == PNG
    assert check_file("evil.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>x</script></svg>',
                      1000).content_type == TEXT  # stored as text: never an image a browser would run


def test_size_limit_is_inclusive():
    assert check_file("a.txt", b"x" * 10, 10).size == 10
    with pytest.raises(AttachmentTooLarge) as refused:
        check_file("a.txt", b"x" * 11, 10)
    assert refused.value.code == "attachment_too_large" and refused.value.limit == 10


def test_only_raster_images_are_shown_inline():
    assert shown_inline(PNG) and shown_inline(JPEG)
    assert not shown_inline(PDF) and not shown_inline(TEXT) and not shown_inline("image/svg+xml")
    assert not shown_inline("text/html")


@given(st.binary(max_size=300))
def test_sniffing_any_bytes_gives_an_allowed_type_or_none(content):
    found = sniff_type(content)
    assert found is None or check_file("x", content, 1000).content_type == found


@given(st.text(max_size=400))
def test_clean_names_are_short_safe_and_never_empty(name):
    cleaned = clean_file_name(name)
    assert cleaned and cleaned.strip(".") and len(cleaned) <= MAX_NAME_CHARS
    assert not any(char in cleaned for char in '/\\\x00\n\r"<>')


def test_clean_names_drop_folders_and_keep_the_extension():
    assert clean_file_name("C:\\fakepath\\report.pdf") == "report.pdf"
    assert clean_file_name("../../etc/passwd") == "passwd"
    assert clean_file_name("..") == "attachment"
    long = clean_file_name("a" * 400 + ".xlsx")
    assert long.endswith(".xlsx") and len(long) == MAX_NAME_CHARS


def _message(session, clock, end_user_id=None):
    conversations = ConversationService(session, clock)
    if end_user_id is None:
        end_user_id = conversations.create_end_user("Ada").id
    conversation = conversations.start_conversation(end_user_id)
    return conversations.post_end_user_message(conversation.id, "see the file"), end_user_id


def test_the_same_bytes_are_stored_once(session, clock):
    files = AttachmentService(session, clock)
    first, end_user_id = _message(session, clock)
    second, _ = _message(session, clock)
    one = files.attach(first, files.check("a.png", PNG_BYTES))
    two = files.attach(second, files.check("b.png", PNG_BYTES))
    assert one.sha256 == two.sha256 == hashlib.sha256(PNG_BYTES).hexdigest()
    assert session.exec(select(func.count()).select_from(AttachmentBlob)).one() == 1
    assert files.content(two).content == PNG_BYTES
    assert one.uploader_end_user_id == end_user_id and one.conversation_id == first.conversation_id
    assert [a.name for a in files.of_messages([first.id])[first.id]] == ["a.png"]


def test_signed_links_open_only_their_attachment_until_they_expire(session, clock):
    files = AttachmentService(session, clock, link_days=2)
    message, _ = _message(session, clock)
    other_message, _ = _message(session, clock)
    mine = files.attach(message, files.check("a.png", PNG_BYTES))
    theirs = files.attach(other_message, files.check("b.txt", b"hello"))
    token = files.signed_path(SIGNER, mine).split("token=")[1]
    assert files.by_link(SIGNER, mine.public_id, token).id == mine.id
    with pytest.raises(NotFound):  # a link for one file never opens another
        files.by_link(SIGNER, theirs.public_id, token)
    foreign = SIGNER.attachment_link_token(mine.id, other_message.conversation_id, clock.now() + timedelta(days=1))
    with pytest.raises(NotFound):  # nor the same file through another conversation
        files.by_link(SIGNER, mine.public_id, foreign)
    clock.advance(timedelta(days=2, seconds=1))
    with pytest.raises(NotFound):
        files.by_link(SIGNER, mine.public_id, token)


def test_erasing_an_end_user_deletes_their_files_and_only_unshared_bytes(session, clock):
    files = AttachmentService(session, clock)
    leaving, leaving_id = _message(session, clock)
    staying, _ = _message(session, clock)
    files.attach(leaving, files.check("shared.png", PNG_BYTES))
    files.attach(leaving, files.check("own.txt", b"only mine"))
    files.attach(staying, files.check("shared-too.png", PNG_BYTES))
    assert delete_attachments_of_end_user(session, leaving_id) == 2
    assert [a.name for a in session.exec(select(Attachment))] == ["shared-too.png"]
    assert [b.sha256 for b in session.exec(select(AttachmentBlob))] == [hashlib.sha256(PNG_BYTES).hexdigest()]
