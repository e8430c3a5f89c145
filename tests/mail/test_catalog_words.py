"""Short UI words read back from the compiled catalogs (.mo) against what a speaker expects on a button or key.

A one-word label has no sentence around it to catch a slip (Arabic "No" once read "You"), and the same English
word can be a verb on a key ("Open" the conversation) or an adjective elsewhere; this table says which is meant.
A failure names the language, the msgid, what the catalog says and what was expected: fix the .po, not the table.
"""
from __future__ import annotations

import gettext

import pytest
from babel.messages.pofile import read_po

from core.i18n import DOMAIN, locale_dir

LANGUAGES = ("de", "fr", "es", "pt_BR", "ja", "pl", "ar")

# msgid: {language: accepted translations}. Verbs where the console shows them on a key or button.
EXPECTED: dict[str, dict[str, set[str]]] = {
    "Yes": {"de": {"Ja"}, "fr": {"Oui"}, "es": {"Sí"}, "pt_BR": {"Sim"}, "ja": {"はい"}, "pl": {"Tak"},
            "ar": {"نعم"}},
    "No": {"de": {"Nein"}, "fr": {"Non"}, "es": {"No"}, "pt_BR": {"Não"}, "ja": {"いいえ"}, "pl": {"Nie"},
           "ar": {"لا"}},
    "You": {"de": {"Sie", "Du"}, "fr": {"Vous", "Toi"}, "es": {"Usted", "Tú"}, "pt_BR": {"Você"}, "ja": {"あなた"},
            "pl": {"Ty", "Pan/Pani"}, "ar": {"أنت"}},
    "Send": {"de": {"Senden"}, "fr": {"Envoyer"}, "es": {"Enviar"}, "pt_BR": {"Enviar"}, "ja": {"送信"},
             "pl": {"Wyślij"}, "ar": {"إرسال", "أرسل"}},
    "Back": {"de": {"Zurück"}, "fr": {"Retour"}, "es": {"Atrás", "Volver"}, "pt_BR": {"Voltar"}, "ja": {"戻る"},
             "pl": {"Wstecz", "Wróć"}, "ar": {"رجوع", "عودة"}},
    "Cancel": {"de": {"Abbrechen"}, "fr": {"Annuler"}, "es": {"Cancelar"}, "pt_BR": {"Cancelar"},
               "ja": {"キャンセル"}, "pl": {"Anuluj"}, "ar": {"إلغاء"}},
    "Save": {"de": {"Speichern"}, "fr": {"Enregistrer"}, "es": {"Guardar"}, "pt_BR": {"Salvar"}, "ja": {"保存"},
             "pl": {"Zapisz"}, "ar": {"حفظ"}},
    "Close": {"de": {"Schließen"}, "fr": {"Fermer"}, "es": {"Cerrar"}, "pt_BR": {"Fechar"}, "ja": {"閉じる"},
              "pl": {"Zamknij"}, "ar": {"إغلاق"}},
    # The queue's Enter key: open the selected conversation (a verb, not the status "open").
    "Open": {"de": {"Öffnen"}, "fr": {"Ouvrir"}, "es": {"Abrir"}, "pt_BR": {"Abrir"}, "ja": {"開く"},
             "pl": {"Otwórz"}, "ar": {"فتح", "افتح"}},
    "Solve": {"de": {"Lösen"}, "fr": {"Résoudre"}, "es": {"Resolver"}, "pt_BR": {"Resolver"}, "ja": {"解決"},
              "pl": {"Rozwiąż"}, "ar": {"حل"}},
    "Reply": {"de": {"Antworten"}, "fr": {"Répondre"}, "es": {"Responder"}, "pt_BR": {"Responder"},
              "ja": {"返信"}, "pl": {"Odpowiedz"}, "ar": {"رد"}},
    "Reopen": {"de": {"Wieder öffnen"}, "fr": {"Rouvrir"}, "es": {"Reabrir"}, "pt_BR": {"Reabrir"},
               "ja": {"再開"}, "pl": {"Otwórz ponownie"}, "ar": {"إعادة الفتح", "إعادة فتح"}},
    "Quit": {"de": {"Beenden"}, "fr": {"Quitter"}, "es": {"Salir"}, "pt_BR": {"Sair"}, "ja": {"終了"},
             "pl": {"Zakończ", "Wyjdź"}, "ar": {"إنهاء", "خروج"}},
    "Search": {"de": {"Suchen"}, "fr": {"Rechercher"}, "es": {"Buscar"}, "pt_BR": {"Pesquisar", "Buscar"},
               "ja": {"検索"}, "pl": {"Szukaj"}, "ar": {"بحث"}},
    "Help": {"de": {"Hilfe"}, "fr": {"Aide"}, "es": {"Ayuda"}, "pt_BR": {"Ajuda"}, "ja": {"ヘルプ"}, "pl": {"Pomoc"},
             "ar": {"مساعدة", "المساعدة"}},
}


def _compiled(language: str) -> gettext.GNUTranslations:
    """The .mo the running program loads, read with the standard library (no fallback to English)."""
    return gettext.translation(DOMAIN, str(locale_dir()), [language])


def test_every_word_of_the_table_is_still_a_msgid():
    with open(locale_dir() / f"{DOMAIN}.pot", "rb") as handle:
        template = read_po(handle)
    missing = [msgid for msgid in EXPECTED if template.get(msgid) is None]
    assert missing == [], "no longer in the catalog template; update the table"


@pytest.mark.parametrize("language", LANGUAGES)
def test_short_words_read_back_as_expected(language):
    catalog = _compiled(language)
    wrong = {msgid: (catalog.gettext(msgid), sorted(accepted[language]))
             for msgid, accepted in EXPECTED.items() if catalog.gettext(msgid) not in accepted[language]}
    assert wrong == {}, f"{language}: msgid -> (catalog says, expected one of)"


@pytest.mark.parametrize("language", LANGUAGES)
def test_different_words_do_not_share_a_translation(language):
    catalog = _compiled(language)
    seen: dict[str, str] = {}
    clashes = []
    for msgid in EXPECTED:
        translated = catalog.gettext(msgid)
        if translated in seen and msgid not in ("Open", "Reopen"):
            clashes.append((seen[translated], msgid, translated))
        seen.setdefault(translated, msgid)
    assert clashes == []
