"""A modal that shows an image attachment in the terminal (textual-image: Sixel, Kitty graphics or coloured blocks)."""
from __future__ import annotations

import io
from typing import ClassVar

from PIL import Image as PillowImage
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

# Imported when the console's modules load: textual-image asks the terminal what it can draw (Sixel, Kitty graphics)
# once, which is only possible before Textual takes over the terminal.
from textual_image.widget import Image as TerminalImage

from core.file_types import INLINE_TYPES
from tui.i18n import N_, _
from tui.text import literal

# Larger pictures are refused before decoding: a screenshot is far smaller, a decompression bomb is not.
MAX_PREVIEW_PIXELS = 40_000_000


class NotPreviewable(Exception):
    """Why a file cannot be shown in the terminal, in the agent's words."""


def decode_image(name: str, content_type: str, content: bytes) -> PillowImage.Image:
    """The decoded picture of an image attachment, or NotPreviewable saying why not and what to do instead.

    Only the types sniffed as raster images are decoded (never SVG or HTML); runs in a worker, not on the UI thread.
    """
    if content_type not in INLINE_TYPES:
        raise NotPreviewable(_(
            "{name} is not an image ({type}); only PNG, JPEG, GIF and WebP images can be previewed in the terminal. "
            "Press f and Enter to open it instead.").format(name=name, type=content_type))
    try:
        picture = PillowImage.open(io.BytesIO(content))
        if picture.width * picture.height > MAX_PREVIEW_PIXELS:
            raise ValueError("too many pixels")
        picture.load()
    except Exception:  # noqa: BLE001 - any decoding failure of untrusted bytes means: cannot show it
        raise NotPreviewable(_(
            "{name} cannot be shown in the terminal: the image could not be read. Press f and Enter to open it "
            "instead.").format(name=name)) from None
    return picture


class ImagePreviewScreen(ModalScreen[None]):
    """Shows one decoded image as large as the dialog allows, keeping its proportions; Escape closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "close", N_("Close"), id="image_preview.close")]

    def __init__(self, name: str, picture: PillowImage.Image) -> None:
        super().__init__()
        self.file_name = name
        self.picture = picture

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide", id="image-preview"):
            yield Static(literal(_("{name} ({width} by {height} pixels); Escape closes.").format(
                name=self.file_name, width=self.picture.width, height=self.picture.height), one_line=True),
                classes="question")
            with Vertical(id="image-preview-area"):
                yield TerminalImage(self.picture, id="image-preview-picture")

    def action_close(self) -> None:
        self.dismiss(None)
