"""How the console shows an end user's satisfaction rating of a solved conversation (the conversation header)."""
from __future__ import annotations

from rich.text import Text

from core.models import Rating, RatingScore
from tui.i18n import _
from tui.text import literal


def rating_line(rating: Rating | None) -> Text:
    """A header line "Rated good by the end user: <comment>"; empty Text when there is no rating."""
    line = Text()
    if rating is None:
        return line
    line.append("\n")
    if rating.score is RatingScore.good:
        line.append(_("Rated good by the end user"), style="bold green")
    else:
        line.append(_("Rated bad by the end user"), style="bold red")
    if rating.comment:
        line.append(": ")
        line.append_text(literal(rating.comment, "italic", one_line=True))
    return line
