"""How an attachment is sent to a browser: saved as a file, never run, sniffed or shown as a page of this site."""
from __future__ import annotations

from urllib.parse import quote

from starlette.responses import Response

from core.attachments import Download
from core.file_types import TEXT, shown_inline

# The file is shown, if at all, as a sandboxed document with no scripts, styles, frames or forms of its own.
DOWNLOAD_CSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"


def content_disposition(name: str, inline: bool) -> str:
    """RFC 6266 with an ASCII fallback and the exact UTF-8 name (RFC 5987), for every browser."""
    fallback = "".join(char if 32 <= ord(char) < 127 and char not in '"\\%' else "_" for char in name) or "attachment"
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def download_response(found: Download, *, inline_requested: bool = False) -> Response:
    """The file's bytes with its sniffed type; raster images inline when asked (thumbnails), everything else
    as an attachment. SVG and HTML are never among the stored types, and nosniff keeps browsers from guessing."""
    media_type = f"{TEXT}; charset=utf-8" if found.content_type == TEXT else found.content_type
    inline = inline_requested and shown_inline(found.content_type)
    return Response(found.content, media_type=media_type, headers={
        "Content-Disposition": content_disposition(found.name, inline),
        "Content-Security-Policy": DOWNLOAD_CSP,
        "Cache-Control": "private, max-age=3600",
        "ETag": f'"{found.sha256}"',
    })
