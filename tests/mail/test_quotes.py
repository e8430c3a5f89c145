"""Quote and signature stripping for the common clients and languages."""
from __future__ import annotations

import pytest

from mail.quotes import strip_quotes

QUOTE = "> Hello,\n> our answer.\n"


@pytest.mark.parametrize("text, expected", [
    (f"Yes.\n\nOn Tue, 3 Mar 2026 at 10:00, Help <h@x.com> wrote:\n{QUOTE}", "Yes."),
    (f"Yes.\n\nOn Tue, 3 Mar 2026 at 10:00, Help <\nh@x.com> wrote:\n{QUOTE}", "Yes."),
    (f"Ja.\n\nAm Di., 3. März 2026 um 10:00 Uhr schrieb Help <h@x.com>:\n{QUOTE}", "Ja."),
    (f"Oui.\n\nLe mar. 3 mars 2026 à 10:00, Help <h@x.com> a écrit :\n{QUOTE}", "Oui."),
    (f"Sí.\n\nEl mar, 3 mar 2026 a las 10:00, Help (<h@x.com>) escribió:\n{QUOTE}", "Sí."),
    (f"Sim.\n\nEm ter., 3 de mar. de 2026 às 10:00, Help <h@x.com> escreveu:\n{QUOTE}", "Sim."),
    ("Fine.\n\n-----Original Message-----\nFrom: Help\nSent: Tuesday\n\nold text", "Fine."),
    ("Gut.\n\n-----Ursprüngliche Nachricht-----\nVon: Help\nGesendet: Dienstag\n\nalt", "Gut."),
    ("Fine.\n\nFrom: Help <h@x.com>\nSent: Tuesday, March 3, 2026\nTo: M\nSubject: S\n\nold", "Fine."),
    ("Bien.\n\nDe : Help <h@x.com>\nEnvoyé : mardi\nÀ : M\n\nold", "Bien."),
    ("Fine.\n\n________________________________\nFrom: Help\nSent: Tuesday\n\nold", "Fine."),
    (f"On 3/3/26 10:00, Help wrote:\n{QUOTE}\nMy answer below.\n", "My answer below."),
    (f"{QUOTE}\nInterleaved answer.\n", "Interleaved answer."),
    ("Thanks!\n\nSent from my iPhone\n\n> On 3 Mar, Help wrote:\n> hi", "Thanks!"),
    ("Danke!\n\nVon meinem iPhone gesendet", "Danke!"),
    ("Gracias\n\nEnviado desde mi iPhone", "Gracias"),
    ("Obrigado\n\nEnviado do meu iPhone", "Obrigado"),
    ("Body.\n\n-- \nMaria\nPhone 123", "Body."),
    ("No quotes at all.\nSecond line.", "No quotes at all.\nSecond line."),
])
def test_strip(text, expected):
    assert strip_quotes(text) == expected


def test_a_reply_that_is_only_a_quote_keeps_the_full_text():
    text = f"On Tue, Help wrote:\n{QUOTE}"
    assert strip_quotes(text) == text.strip()


def test_ordinary_lines_mentioning_from_are_kept():
    text = "From: the start it worked.\nThanks."
    assert strip_quotes(text) == text


@pytest.mark.parametrize("spacer", ["\u00a0", "\u00a0\u00a0 ", "\u202f", "\u2007", "\u3000", " \u00a0\t", "\u200b"])
def test_unicode_whitespace_spacer_lines_are_blank(spacer):
    # Outlook writes its empty paragraphs as a lone NBSP; they must not survive as blank-looking lines.
    text = (f"{spacer}\nHello,\n{spacer}\n{spacer}\n{spacer}\nthe fix works.\n{spacer}\nMaria\n{spacer}\n"
            f"From: Acme Help <help@example.com>\nSent: Tuesday, March 3, 2026 10:00\nTo: Maria\n\nold text")
    assert strip_quotes(text) == "Hello,\n\nthe fix works.\n\nMaria"

