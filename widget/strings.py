"""The widget's own words, translated from the gettext catalogs for the end user's language."""
from __future__ import annotations

from typing import Any

from babel import Locale, UnknownLocaleError

from core.i18n import N_, negotiate, normalize_tag, translations

# Keys the script looks up -> source strings (English). N_ marks them for extraction; they are
# translated per request with the end user's language, not the server's.
WIDGET_STRINGS: dict[str, str] = {
    "launcher": N_("Chat with us"),
    "title": N_("Support"),
    "close": N_("Close"),
    "placeholder": N_("Write a message…"),
    "send": N_("Send"),
    "you": N_("You"),
    "agent": N_("Support team"),
    "via_email": N_("via email"),
    "intro": N_("Ask us anything. We will answer here, or by email if you have left."),
    "email_label": N_("Your email address"),
    "email_placeholder": N_("name@example.com"),
    "email_submit": N_("Save"),
    "email_saved": N_("Thanks! We will email you at {email} if you have left when we reply."),
    "error_generic": N_("Something went wrong. Please try again."),
    "offline": N_("Connection lost. Reconnecting…"),
    "return_open": N_("Open the emailed conversation"),
    "return_stay": N_("Stay in this chat"),
    "email_offer_title": N_("Get the reply by email"),
    "email_offer_text": N_("Leave your address and you can close this page: a reply you have not read comes by email."),
    "email_offer_dismiss": N_("Not now"),
    # The name screen readers give the conversation's message list.
    "messages": N_("Messages"),
    # How a screen reader announces a message as it arrives: who wrote it, then the message.
    "announce_message": N_("{author}: {message}"),
    "unread_many": N_("More than 99 new messages"),
    # Typing indicator and satisfaction rating (shown once the conversation is solved).
    "agent_typing": N_("Agent is typing…"),
    "rating_question": N_("How did we do?"),
    "rating_good": N_("Good"),
    "rating_bad": N_("Bad"),
    "rating_comment": N_("Tell us more (optional)"),
    "rating_submit": N_("Send rating"),
    "rating_thanks": N_("Thank you for your rating. You can change it at any time."),
    "articles_title": N_("While you wait, these articles may help"),
    "article_read": N_("Read"),
    "article_back": N_("Back to the chat"),
    "article_frame": N_("Help-center article"),
    "article_question": N_("Did this answer your question?"),
    "article_yes": N_("Yes, close my conversation"),
    "article_no": N_("No, I still need help"),
    "article_solved": N_("Glad it helped! Your conversation is closed. Write again any time."),
    "article_waiting": N_("Your conversation stays in the queue; an agent will reply here."),
    "attach": N_("Attach a file"),
    "attach_drop": N_("Drop the file to send it"),
    "attach_uploading": N_("Sending {name}: {percent}%"),
    "attach_sent": N_("{name} sent."),
    "attach_too_large": N_("This file is too large to send."),
    "attach_not_allowed": N_("This kind of file cannot be sent. Send an image, a PDF, a text file, an office "
                             "document or a zip archive."),
    "attach_download": N_("Download {name} ({size})"),
}
# The launcher's unread count is spoken as "2 new messages": every count up to this one is sent in its plural form
# (languages differ in how many forms they have and which numbers take which), beyond it "unread_many".
MAX_COUNTED = 99


def accepted_languages(header: str | None) -> list[str]:
    """Language tags from an Accept-Language header, most preferred first."""
    ranked = []
    for position, item in enumerate((header or "").split(",")):
        tag, _sep, params = item.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag and tag != "*" and quality > 0:
            ranked.append((-quality, position, tag))
    return [tag for _q, _p, tag in sorted(ranked)]


def clean_language(tag: str | None) -> str | None:
    """A tag as given by a browser (de-AT), normalized for storage (de_AT); None if it is not a language."""
    return normalize_tag(tag or "") or None


def widget_strings(language: str) -> dict[str, Any]:
    """The negotiated language and every widget string translated into it."""
    translator = translations(language)
    unread = [""] + [translator.ngettext("{count} new message", "{count} new messages", count).format(count=count)
                     for count in range(1, MAX_COUNTED + 1)]
    return {"language": language, "direction": text_direction(language),
            "strings": {key: translator.gettext(msgid) for key, msgid in WIDGET_STRINGS.items()},
            "counts": {"unread": unread}}


def text_direction(language: str) -> str:
    """'rtl' for languages written right to left (Arabic, Hebrew, Persian, ...), else 'ltr'; from CLDR via Babel."""
    try:
        return "rtl" if Locale.parse(language).character_order == "right-to-left" else "ltr"
    except (ValueError, UnknownLocaleError):
        return "ltr"


def negotiate_language(*preferences: str | None) -> str:
    return negotiate(*preferences)


def availability_text(language: str, team_online: bool, wait_seconds: float | None) -> str:
    """One line for the widget header: whether the team is online and the expected wait, in language."""
    translator = translations(language)
    if not team_online:
        return translator.gettext("We are away right now. Leave a message and we will reply by email.")
    if wait_seconds is None or wait_seconds < 60:
        return translator.gettext("We are online and usually reply in under a minute.")
    minutes = round(wait_seconds / 60)
    return translator.ngettext(
        "We are online. Expected wait: about {count} minute.",
        "We are online. Expected wait: about {count} minutes.", minutes,
    ).format(count=minutes)
