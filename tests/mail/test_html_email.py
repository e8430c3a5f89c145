"""The HTML part as mail clients (Outlook's Word engine included) render it: tables and inline styles, <br> line
breaks, escaped links in agents' messages only, dir="auto" on bodies, a readable footer; the text part's "-- ".

Screenshots in Chromium (375 and 800 px, en and ar) live in tests/data/email_screens/; they are made again only when
THREADLINE_EMAIL_SCREENS=1 (then look at them before committing).
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from mail.compose import render_bodies
from mail.notification_content import MessageView, NotificationContent

SCREENS = Path(__file__).resolve().parents[1] / "data" / "email_screens"
CHROMIUM = "/usr/bin/chromium"
WIDTHS = (375, 800)


def _content(language: str) -> NotificationContent:
    arabic = language == "ar"
    first = ("تم شحن طلبك رقم 4411 عبر DHL اليوم.\nرابط التتبع: https://track.example.com/t?id=4411&lang=ar"
             if arabic else "Your order #4411 shipped with DHL today.\nTracking: https://track.example.com/t?id=4411&x=<b>")
    second = ("يمكنك أيضًا قراءة (https://en.wikipedia.org/wiki/Parcel_(package)).\n\nمع التحية،\nسارة"
              if arabic else "See also (https://en.wikipedia.org/wiki/Parcel_(package)).\n\nBest,\nSam")
    return NotificationContent(
        message_id="<tl.x.1@example.com>", to_address="alex@example.org", to_name="Alex <script>", language=language,
        brand_name="Acme Help", support_address="help@example.com", reply_address="help+x@example.com",
        conversation_public_id="c1", conversation_url="https://support.example.com/return/1-abc",
        unread=[MessageView("Sam Agent", "Jan 5, 2026, 9:01 AM UTC", first),
                MessageView("Sam Agent", "Jan 5, 2026, 9:02 AM UTC", second)],
        recap=[MessageView("You", "Jan 5, 2026, 8:50 AM UTC", "Where is my order? http://evil.example/phish",
                           from_end_user=True)],
        job_id=1, unsubscribe_url="https://support.example.com/unsubscribe/1-abc",
        unsubscribe_address="help+unsubscribe-1-abc@example.com")


def _luminance(hex_colour: str) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast_on_white(hex_colour: str) -> float:
    """WCAG 2 contrast ratio of hex_colour (#rrggbb) text on white."""
    return (1.0 + 0.05) / (_luminance(hex_colour) + 0.05)


def test_contrast_formula_matches_known_values():
    assert round(contrast_on_white("#8c959f"), 1) == 3.0  # the old footer colour
    assert round(contrast_on_white("#000000"), 0) == 21


@pytest.mark.parametrize("language", ["en", "ar"])
def test_html_is_built_for_outlook_and_screen_readers(language):
    text, html = render_bodies(_content(language))
    assert "pre-wrap" not in html and "border-inline-start" not in html and "max-width: 640px" in html
    assert "<table" in html and 'role="presentation"' in html
    # Every message body says its own direction: Arabic with Latin names and URLs reads right.
    bodies = re.findall(r'<div class="body"[^>]*>', html)
    assert len(bodies) == 3 and all('dir="auto"' in tag for tag in bodies)
    assert "<br>" in html
    # Agents' URLs are links, escaped, with rel="noopener"; the trailing ")" and "." stay outside.
    assert '<a href="https://en.wikipedia.org/wiki/Parcel_(package)" rel="noopener"' in html
    if language == "en":
        assert 'href="https://track.example.com/t?id=4411&amp;x=&lt;b&gt;"' not in html  # "<" ends a URL
        assert 'href="https://track.example.com/t?id=4411&amp;x="' in html and "&lt;b&gt;" in html
    # An end user's text never becomes a link in our email, and people's text is escaped.
    assert 'href="http://evil.example' not in html and "Alex &lt;script&gt;" in html
    footer = re.search(r'<td class="footer" style="([^"]*)"', html)
    assert footer is not None
    colour = re.search(r"(?<![-\w])color: (#[0-9a-fA-F]{6})", footer.group(1))
    assert colour is not None and contrast_on_white(colour.group(1)) >= 4.5
    assert 'href="https://support.example.com/unsubscribe/1-abc"' in html
    assert ('dir="rtl"' in html) == (language == "ar")
    assert "\n-- \n" in text and "\n--\n" not in text


@pytest.mark.browser
@pytest.mark.parametrize("language", ["en", "ar"])
def test_screenshots(language):
    files = [SCREENS / f"notification-{language}-{width}.png" for width in WIDTHS]
    if os.environ.get("THREADLINE_EMAIL_SCREENS") != "1":
        missing = [str(path) for path in files if not path.is_file()]
        assert not missing, f"make them with THREADLINE_EMAIL_SCREENS=1: {missing}"
        return
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is needed to make the screenshots (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    _text, html = render_bodies(_content(language))
    SCREENS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        try:
            for width, path in zip(WIDTHS, files, strict=True):
                page = browser.new_page(viewport={"width": width, "height": 600})
                page.set_content(html)
                # Nothing may scroll sideways on a phone: the layout fits the width.
                assert page.evaluate("document.documentElement.scrollWidth") <= width
                page.screenshot(path=str(path), full_page=True)
                page.close()
        finally:
            browser.close()
