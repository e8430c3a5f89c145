"""What a file is, from its first bytes (never its name or declared type), and whether a desk accepts it."""
from __future__ import annotations

import io
import re
import unicodedata
import zipfile

PNG = "image/png"
JPEG = "image/jpeg"
GIF = "image/gif"
WEBP = "image/webp"
PDF = "application/pdf"
ZIP = "application/zip"
TEXT = "text/plain"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
ODT = "application/vnd.oasis.opendocument.text"
ODS = "application/vnd.oasis.opendocument.spreadsheet"
ODP = "application/vnd.oasis.opendocument.presentation"

# Types a browser may show inline: raster images only. SVG is never one of them (it can carry script), nor HTML.
INLINE_TYPES = frozenset({PNG, JPEG, GIF, WEBP})
ALLOWED_TYPES = frozenset({PNG, JPEG, GIF, WEBP, PDF, ZIP, TEXT, DOCX, XLSX, PPTX, ODT, ODS, ODP})

_OOXML_FOLDERS = (("word/", DOCX), ("xl/", XLSX), ("ppt/", PPTX))
_OPEN_DOCUMENT = frozenset({ODT, ODS, ODP})
MAX_NAME_CHARS = 255
DEFAULT_NAME = "attachment"


def sniff_type(content: bytes) -> str | None:
    """The media type content's bytes show (one of ALLOWED_TYPES), or None when it is none of them.

    Only the content counts: a PNG named report.pdf is a PNG, and an executable named photo.png is refused.
    """
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if content.startswith(b"\xff\xd8\xff"):
        return JPEG
    if content.startswith((b"GIF87a", b"GIF89a")):
        return GIF
    if len(content) >= 12 and content.startswith(b"RIFF") and content[8:12] == b"WEBP":
        return WEBP
    if content.startswith(b"%PDF-"):
        return PDF
    if content.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return _zip_type(content)
    if _is_plain_text(content):
        return TEXT
    return None


def _zip_type(content: bytes) -> str:
    """An office document (OOXML or OpenDocument) when the archive's entries say so; else a plain zip."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            names = archive.namelist()
            if "mimetype" in names:
                with archive.open("mimetype") as entry:  # at most 100 bytes: a bomb is never inflated
                    declared = entry.read(100).decode("ascii", "replace").strip()
                if declared in _OPEN_DOCUMENT:
                    return declared
            if "[Content_Types].xml" in names:
                for folder, media_type in _OOXML_FOLDERS:
                    if any(name.startswith(folder) for name in names):
                        return media_type
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, NotImplementedError):
        pass  # a damaged archive is still only served as a download
    return ZIP


def _is_plain_text(content: bytes) -> bool:
    """UTF-8 without NUL bytes and with few control characters (tabs and line breaks are text)."""
    if b"\x00" in content:
        return False
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        return False
    controls = sum(1 for char in text if unicodedata.category(char) == "Cc" and char not in "\t\n\r\f")
    return controls * 100 <= len(text)  # a stray escape in a log is still text; binary noise is not


def is_allowed(media_type: str | None) -> bool:
    return media_type in ALLOWED_TYPES


def shown_inline(media_type: str) -> bool:
    """Whether a download may be shown in the browser rather than saved: raster images only."""
    return media_type in INLINE_TYPES


def is_image(media_type: str) -> bool:
    return media_type in INLINE_TYPES


def within_limit(size: int, max_bytes: int) -> bool:
    return 0 <= size <= max_bytes


_UNSAFE_NAME_CHARS = re.compile(r'[\x00-\x1f\x7f"\\/:*?<>|]')


def clean_file_name(name: str | None) -> str:
    """A file name safe to store and to offer in a download: no folders, control or reserved characters, at most
    MAX_NAME_CHARS characters (the extension kept), never empty or only dots."""
    text = unicodedata.normalize("NFC", name or "")
    text = text.replace("\\", "/").rsplit("/", 1)[-1]  # a browser may send C:\\fakepath\\x.png
    text = _UNSAFE_NAME_CHARS.sub("_", text)
    text = "".join(char for char in text if unicodedata.category(char) not in ("Cf", "Zl", "Zp")).strip()
    if not text.strip("."):
        return DEFAULT_NAME
    if len(text) > MAX_NAME_CHARS:
        stem, dot, extension = text.rpartition(".")
        if dot and 0 < len(extension) <= 16 and stem:
            text = stem[:MAX_NAME_CHARS - len(extension) - 1] + "." + extension
        else:
            text = text[:MAX_NAME_CHARS]
    return text
