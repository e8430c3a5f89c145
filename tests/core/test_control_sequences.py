"""Cleaning inbound text: escape sequences go whole, other control characters go, line breaks and tabs stay."""
from __future__ import annotations

import pytest

from core.errors import InvalidInput
from core.text import clean_body, find_control_character, without_control_characters


@pytest.mark.parametrize("dirty, clean", [
    ("before\x1b[2Jafter", "beforeafter"),                          # CSI: clear screen
    ("red \x1b[31;1mtext\x1b[0m", "red text"),                      # CSI with parameters
    ("\x1b]0;window title\x07visible", "visible"),                   # OSC ended by BEL
    ("\x1b]8;;https://evil.example\x1b\\link\x1b]8;;\x1b\\", "link"),  # OSC 8 hyperlink ended by ST
    ("\x1bPq#0;2;0;0;0\x1b\\done", "done"),                          # DCS (sixel) ended by ST
    ("\x9b2Jc1 form", "c1 form"),                                    # 8-bit CSI
    ("lone \x1b escape", "lone  escape"),
    ("nul\x00 bell\x07 del\x7f", "nul bell del"),
    ("page one\fpage two", "page one\npage two"),                    # form feed: a page break is a line break
    ("line\vnext", "line\nnext"),                                    # vertical tab, as pasted from PDFs
    ("tab\tand\nnewline", "tab\tand\nnewline"),
    ("Grüße, 日本語, مرحبا", "Grüße, 日本語, مرحبا"),
])
def test_control_characters_are_dropped_and_escape_sequences_go_whole(dirty, clean):
    assert without_control_characters(dirty) == clean
    assert find_control_character(without_control_characters(dirty)) is None


def test_api_input_is_still_refused_with_a_reason():
    # Cleaning is for inbound email; a person typing through the API sees the refusal and can fix the text.
    with pytest.raises(InvalidInput, match="U\\+001B"):
        clean_body("hi \x1b[2J")
