"""Quote and signature stripping: the new text of a reply from the common mail clients, in several languages."""
from __future__ import annotations

import re
import unicodedata

# "On <date>, <who> wrote:" as Gmail, Apple Mail and Thunderbird write it, in English, German, French,
# Spanish, Portuguese, Dutch and Italian. A header may wrap over two lines, so lines are also tried in pairs.
_ATTRIBUTION = re.compile(
    r"^\s*(on\b.{0,200}\bwrote"
    r"|am\b.{0,200}\bschrieb.{0,200}"
    r"|le\b.{0,200}\ba\s+[ée]crit"
    r"|el\b.{0,200}\bescribi[óo]"
    r"|em\b.{0,200}\bescreveu"
    r"|op\b.{0,200}\bschreef.{0,200}"
    r"|il\b.{0,200}\bha\s+scritto"
    r"|.{0,200}\b(wrote|schrieb|a\s+[ée]crit|escribi[óo]|escreveu)"
    r")\s*:\s*$",
    re.IGNORECASE,
)

# Separators above a forwarded/quoted original (Outlook, Thunderbird, Lotus, many webmails).
_SEPARATOR = re.compile(
    r"^\s*(-{2,}\s*(original message|ursprüngliche nachricht|message d'origine|message original|mensaje original|"
    r"mensagem original|originalbericht|messaggio originale|forwarded message|weitergeleitete nachricht)\s*-{2,}"
    r"|_{20,})\s*$",
    re.IGNORECASE,
)

# Outlook's header block: "From:" followed within a few lines by "Sent:"/"Date:" (and their translations).
_FROM = re.compile(r"^\s*\**\s*(from|von|de|da|van)\s*\**\s*:", re.IGNORECASE)
_SENT = re.compile(
    r"^\s*\**\s*(sent|date|gesendet|datum|envoy[ée]|date|enviado|fecha|data|inviato|verzonden)\s*\**\s*:", re.IGNORECASE
)

# Signatures: the standard "-- " delimiter and the mobile clients' one-liners.
_SIGNATURE = re.compile(
    r"^\s*(--\s*$"
    r"|sent from my \w+"
    r"|sent from (outlook|mail) for \w+"
    r"|get outlook for \w+"
    r"|von meinem \w+ gesendet"
    r"|gesendet von meinem \w+"
    r"|envoy[ée] de mon \w+"
    r"|enviado desde mi \w+"
    r"|enviado do meu \w+"
    r"|inviato da \w+"
    r")",
    re.IGNORECASE,
)


def _blank_if_spacer(line: str) -> str:
    """'' for a line that only looks blank: Outlook writes empty paragraphs as NBSP, others use zero-width spaces."""
    if line and all(char.isspace() or unicodedata.category(char) == "Cf" for char in line):
        return ""
    return line


def _marker_at(lines: list[str], index: int) -> bool:
    """Whether lines[index] starts the quoted original (attribution, separator or Outlook header block)."""
    line = lines[index]
    if _SEPARATOR.match(line):
        return True
    if _ATTRIBUTION.match(line) and len(line) < 400:
        return True
    if index + 1 < len(lines) and re.match(r"^\s*(on|am|le|el|em|op|il)\b", line, re.IGNORECASE):
        joined = f"{line} {lines[index + 1]}"
        if _ATTRIBUTION.match(joined) and len(joined) < 400:
            return True
    if line.rstrip().endswith(":") and "@" in line and len(line) < 300:
        # Any-language attribution ("2026年3月3日(火) 10:00 Acme Help <help@example.com>:") right above a quote.
        following = [other for other in lines[index + 1: index + 3] if other.strip()]
        if following and following[0].lstrip().startswith(">"):
            return True
    if _FROM.match(line):
        following = lines[index + 1: index + 5]
        return any(_SENT.match(other) for other in following)
    return False


def _cut_signature(lines: list[str]) -> list[str]:
    for index, line in enumerate(lines):
        if _SIGNATURE.match(line):
            return lines[:index]
    return lines


def _meaningful(lines: list[str]) -> bool:
    return any(line.strip() for line in lines)


def strip_quotes(text: str) -> str:
    """The new text of a reply: quoted history, attribution lines and signatures removed; blank edges trimmed.

    Top-posted replies keep what is above the first marker; bottom-posted and interleaved ones keep the lines
    that are neither quoted ('>') nor markers. When nothing would be left, the full text is returned instead,
    because losing what the person wrote is worse than showing a quote.
    """
    lines = [_blank_if_spacer(line) for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    marker = next((i for i in range(len(lines)) if _marker_at(lines, i)), None)
    unquoted = [line for line in lines if not line.lstrip().startswith(">")]
    if marker is not None and _meaningful([line for line in lines[:marker] if not line.lstrip().startswith(">")]):
        kept = [line for line in lines[:marker] if not line.lstrip().startswith(">")]
    elif marker is not None:
        # Bottom-posting: the quote comes first; keep the unquoted lines after it.
        after = lines[marker + 1:]
        if marker + 1 < len(lines) and not _ATTRIBUTION.match(lines[marker]) and _ATTRIBUTION.match(
                f"{lines[marker]} {lines[marker + 1]}"):
            after = lines[marker + 2:]
        kept = [line for line in after if not line.lstrip().startswith(">")]
        if _SEPARATOR.match(lines[marker]) or _FROM.match(lines[marker]):
            kept = []  # an Outlook-style original runs to the end: nothing after it is new
    else:
        kept = unquoted
    kept = _cut_signature(kept)
    result = "\n".join(kept).strip("\n").rstrip()
    result = re.sub(r"\n{3,}", "\n\n", result)
    return result.strip() if result.strip() else text.strip()
