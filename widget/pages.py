"""The HTML pages the widget server serves: the demo host page (also the landing page of return links)."""
from __future__ import annotations

from html import escape

from core.i18n import translations
from widget.strings import text_direction


def demo_page(language: str) -> str:
    """A stand-in for a customer's website with the widget embedded by one script tag, in language."""
    gettext = translations(language).gettext
    # Translated outside the f-string below, where pybabel extract can see them.
    title = escape(gettext("Threadline widget demo"))
    intro = escape(gettext("This page stands in for your website. The chat button in the corner is the widget, "
                           "embedded with one tag:"))
    try_it = escape(gettext("Try the JavaScript API a website can call:"))
    snippet = '<script src="/widget/threadline.js" defer></script>'
    buttons = "".join(
        f'<button type="button" id="demo-{key}" dir="ltr">{escape(label)}</button>'
        for key, label in (("open", "Threadline.open()"), ("close", "Threadline.close()"),
                           ("de", 'Threadline.setLocale("de")'), ("en", 'Threadline.setLocale("en")'))
    )
    # The buttons come first: on a phone the open widget takes the lower half of the screen, never the controls.
    return _page(
        language,
        title,
        f"""  <h1>{title}</h1>
  <p>{try_it}</p>
  <p class="demo-controls">{buttons}</p>
  <p>{intro}</p>
  <pre dir="ltr">{escape(snippet)}</pre>""",
        scripts='<script src="/widget/demo.js" defer></script>\n<script src="/widget/threadline.js" defer></script>',
    )


def conversation_page(language: str, brand: str) -> str:
    """The page an email's "return to the conversation" link opens: the widget, open, on that conversation."""
    gettext = translations(language).gettext
    title = escape(gettext("Your conversation with {brand}").format(brand=brand))
    note = escape(gettext("The conversation continues below. You can close this page at any time; "
                          "we will email you replies you have not read."))
    return _page(language, title, f"""  <h1>{title}</h1>
  <p>{note}</p>""", head='<meta name="robots" content="noindex">',
                 scripts='<script src="/widget/threadline.js" data-open="true" defer></script>')


def _page(language: str, title: str, main: str, *, head: str = "", scripts: str = "") -> str:
    """One HTML page of ours around already-escaped parts: language, title, the main content, the scripts."""
    head_lines = f"\n{head}" if head else ""
    return f"""<!doctype html>
<html lang="{escape(language.replace('_', '-'))}" dir="{text_direction(language)}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">{head_lines}
<title>{title}</title>
<link rel="stylesheet" href="/widget/demo.css">
</head>
<body>
<main>
{main}
</main>
{scripts}
</body>
</html>
"""
