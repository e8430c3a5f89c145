"""Reading one uploaded file from a multipart body as it streams in, refusing it once it passes the size limit."""
from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from core.i18n import N_
from widget.errors import ApiError

FILE_FIELD = b"file"
# Room in a body for the multipart boundaries and part headers around the file.
MULTIPART_OVERHEAD_BYTES = 16 * 1024


@dataclass
class UploadedFile:
    name: str | None
    content: bytes


@dataclass
class _Part:
    headers: dict[bytes, bytes] = field(default_factory=dict)
    header_name: bytearray = field(default_factory=bytearray)
    header_value: bytearray = field(default_factory=bytearray)
    chunks: list[bytes] = field(default_factory=list)
    size: int = 0


def too_large(limit: int) -> ApiError:
    return ApiError("attachment_too_large", N_("The file is larger than {limit} bytes; send a smaller file."),
                    limit=limit)


def _form_file_name(raw: bytes) -> str:
    """The file name a browser sent: UTF-8, with '"', CR and LF escaped as %22, %0D and %0A (HTML's form encoding)."""
    text = raw.decode("utf-8", "replace")
    for escaped, char in (("%22", '"'), ("%0D", "\r"), ("%0A", "\n")):
        text = text.replace(escaped, char)
    return text


async def read_uploaded_file(content_type: str | None, content_length: str | None, stream: AsyncIterator[bytes],
                             max_bytes: int) -> UploadedFile:
    """The one part named `file` of a multipart/form-data body; other parts are ignored (up to a small size).

    At most max_bytes of the file are ever held: the body is refused as soon as it passes max_bytes plus the
    multipart overhead, or the file passes max_bytes, so a 1 GB body costs nothing but the bytes read so far.
    """
    kind, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        raise ApiError("invalid_input", N_("Send the file as multipart/form-data in a field named 'file'."))
    body_limit = max_bytes + MULTIPART_OVERHEAD_BYTES
    if content_length is not None and content_length.isascii() and content_length.isdigit() \
            and int(content_length) > body_limit:
        raise too_large(max_bytes)
    current = _Part()
    found: list[UploadedFile] = []
    refused: list[ApiError] = []

    def on_part_begin() -> None:
        nonlocal current
        current = _Part()

    def on_header_field(data: bytes, start: int, end: int) -> None:
        current.header_name += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        current.header_value += data[start:end]

    def on_header_end() -> None:
        current.headers[bytes(current.header_name).lower()] = bytes(current.header_value)
        current.header_name.clear()
        current.header_value.clear()

    def on_part_data(data: bytes, start: int, end: int) -> None:
        current.size += end - start
        if current.size > max_bytes:
            if not refused:
                refused.append(too_large(max_bytes))
            return
        current.chunks.append(data[start:end])

    def on_part_end() -> None:
        _disposition, params = parse_options_header(current.headers.get(b"content-disposition"))
        if params.get(b"name") == FILE_FIELD and not found and not refused:
            raw_name = params.get(b"filename")
            name = _form_file_name(raw_name) if raw_name is not None else None
            found.append(UploadedFile(name, b"".join(current.chunks)))
        current.chunks.clear()

    parser = MultipartParser(boundary, {
        "on_part_begin": on_part_begin, "on_header_field": on_header_field, "on_header_value": on_header_value,
        "on_header_end": on_header_end, "on_part_data": on_part_data, "on_part_end": on_part_end,
    })
    received = 0
    try:
        async for chunk in stream:
            received += len(chunk)
            if received > body_limit:
                raise too_large(max_bytes)
            parser.write(chunk)
            if refused:
                raise refused[0]
        parser.finalize()
    except MultipartParseError:
        raise ApiError("invalid_input", N_("The multipart body could not be read; send the file again.")) from None
    if refused:
        raise refused[0]
    if not found:
        raise ApiError("invalid_input", N_("Send the file as multipart/form-data in a field named 'file'."))
    return found[0]
