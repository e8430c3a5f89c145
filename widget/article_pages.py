"""The public help-center page of one article: Markdown rendered with HTML disabled, localized, no script."""
from __future__ import annotations

from html import escape

from markdown_it import MarkdownIt

from core.i18n import negotiate, translations
from core.models import Article
from widget.strings import text_direction

# CommonMark with raw HTML off: "<script>" in an article is shown as text. markdown-it's own link check refuses
# javascript:, vbscript:, file: and data: (other than images) targets; tables and strikethrough are turned on.
_MARKDOWN = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable(["table", "strikethrough"])


def article_html(body: str) -> str:
    """An article body as safe HTML (raw HTML in the Markdown is escaped, dangerous link targets dropped)."""
    return str(_MARKDOWN.render(body))


def article_page(article: Article, brand: str) -> str:
    """The whole page of a published article, in the article's language where a catalog exists for it."""
    language = negotiate(article.language)
    gettext = translations(language).gettext
    title = escape(article.title)
    note = escape(gettext("Still need help? Open the chat on our website and write to us."))
    site = escape(gettext("Help center of {brand}").format(brand=brand))
    return _page(article.language, f"{title} · {site}", f"""  <p class="help-site">{site}</p>
  <article>
  <h1>{title}</h1>
{article_html(article.body)}  </article>
  <p class="help-note">{note}</p>""")


def missing_article_page(language: str) -> str:
    """The page for an address with no published article, in language."""
    gettext = translations(negotiate(language)).gettext
    title = escape(gettext("There is no article at this address."))
    note = escape(gettext("It may have been moved or unpublished. Open the chat on our website and write to us."))
    return _page(language, title, f"  <h1>{title}</h1>\n  <p>{note}</p>")


def _page(language: str, title: str, main: str) -> str:
    tag = language.replace("_", "-")
    return f"""<!doctype html>
<html lang="{escape(tag)}" dir="{text_direction(language)}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="stylesheet" href="/widget/help.css">
</head>
<body>
<main>
{main}
</main>
</body>
</html>
"""
