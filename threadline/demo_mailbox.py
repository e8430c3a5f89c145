"""The demo mailbox page (/demo/mailbox): each demo end user's inbox read over IMAP, and a reply form sent over SMTP."""
from __future__ import annotations

import email
import email.policy
import email.utils
import html
import imaplib
import logging
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import parse_qs

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from core.i18n import _

log = logging.getLogger(__name__)

SHOWN_PER_INBOX = 20
MAX_REPLY_CHARS = 10_000

_STYLE = """body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
section{border:1px solid #ccc;border-radius:6px;padding:0 1rem 1rem;margin-bottom:1.5rem}
article{border-top:1px solid #eee;padding-top:.5rem}pre{white-space:pre-wrap;background:#f7f7f7;padding:.5rem}
textarea{width:100%;min-height:5rem}.meta{color:#555;font-size:.9rem}.notice{background:#e8f5e9;padding:.5rem}
.problem{background:#fdecea;padding:.5rem}"""


@dataclass(frozen=True)
class InboxEmail:
    uid: str
    sender: str
    subject: str
    date: str
    text: str


@dataclass(frozen=True)
class Mailboxes:
    """Where the demo's mailboxes live: the embedded IMAP and SMTP servers, the end users and their password."""

    imap_port: int
    smtp_port: int
    users: dict[str, str]  # address -> display name
    password: str
    host: str = "127.0.0.1"

    def _imap(self, address: str) -> imaplib.IMAP4:
        client = imaplib.IMAP4(self.host, self.imap_port, timeout=10)
        client.login(address, self.password)
        return client

    def inbox(self, address: str) -> list[InboxEmail]:
        """The newest emails first (at most SHOWN_PER_INBOX), read without marking them seen."""
        client = self._imap(address)
        try:
            client.select("INBOX", readonly=True)
            _status, data = client.uid("SEARCH", "ALL")
            uids = (data[0] or b"").split()[-SHOWN_PER_INBOX:]
            found = []
            for uid in reversed(uids):
                message = self._fetch(client, uid.decode())
                if message is not None:
                    found.append(_summary(uid.decode(), message))
            return found
        finally:
            client.logout()

    def _fetch(self, client: imaplib.IMAP4, uid: str) -> EmailMessage | None:
        _status, data = client.uid("FETCH", uid, "(BODY.PEEK[])")
        raw = next((part[1] for part in data if isinstance(part, tuple)), None)
        return email.message_from_bytes(raw, policy=email.policy.default) if raw else None

    def reply(self, address: str, uid: str, text: str) -> None:
        """Answer the email uid of address's inbox, threaded (In-Reply-To, References), through the SMTP server."""
        client = self._imap(address)
        try:
            client.select("INBOX", readonly=True)
            original = self._fetch(client, uid)
        finally:
            client.logout()
        if original is None:
            raise LookupError(uid)
        reply = EmailMessage()
        reply["From"] = email.utils.formataddr((self.users[address], address))
        reply["To"] = original.get("Reply-To") or original.get("From")
        subject = str(original.get("Subject", ""))
        reply["Subject"] = subject if subject.lower().startswith("re:") else f"Re: {subject}"
        reply["Date"] = email.utils.formatdate(localtime=False)
        reply["Message-ID"] = email.utils.make_msgid(domain=address.rpartition("@")[2])
        if original.get("Message-ID"):
            reply["In-Reply-To"] = original["Message-ID"]
            reply["References"] = " ".join(filter(None, [original.get("References"), original["Message-ID"]]))
        reply.set_content(text)
        with smtplib.SMTP(self.host, self.smtp_port, timeout=10) as smtp:
            smtp.send_message(reply)


def _summary(uid: str, message: EmailMessage) -> InboxEmail:
    body = message.get_body(preferencelist=("plain", "html"))
    text = body.get_content() if body is not None else ""
    return InboxEmail(uid=uid, sender=str(message.get("From", "")), subject=str(message.get("Subject", "")),
                      date=str(message.get("Date", "")), text=text)


def _page(mailboxes: Mailboxes, inboxes: dict[str, list[InboxEmail] | str], notice: str) -> str:
    e = html.escape  # every header and body is user text: shown, never interpreted
    # Translated outside the f-strings, where pybabel extract can see them (it skips calls inside f-strings).
    title = e(_("Demo mailboxes"))
    intro = e(_("The inboxes of the demo end users, as a mail client would show them. Give one of these addresses "
                "in the chat widget, leave, and the unread reply arrives here after the inactivity period."))
    empty, sender_label, reply_label, send_label = (
        e(_("No emails yet.")),
        e(_("From")),
        e(_("Reply")),
        e(_("Send reply")),
    )
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title>",
             "<link rel='stylesheet' href='/demo/mailbox.css'></head><body>",
             f"<h1>{title}</h1>",
             f"<p>{intro}</p>"]
    if notice:
        parts.append(f"<p class='notice'>{e(notice)}</p>")
    for address, found in inboxes.items():
        parts.append(f"<section><h2>{e(mailboxes.users[address])} &lt;{e(address)}&gt;</h2>")
        if isinstance(found, str):
            parts.append(f"<p>{e(found)}</p>")
        elif not found:
            parts.append(f"<p>{empty}</p>")
        for item in found if not isinstance(found, str) else []:
            parts.append(
                f"<article><h3>{e(item.subject)}</h3>"
                f"<p class='meta'>{sender_label}: {e(item.sender)} · {e(item.date)}</p>"
                f"<pre>{e(item.text)}</pre><form method='post' action='/demo/mailbox/reply'>"
                f"<input type='hidden' name='address' value='{e(address)}'>"
                f"<input type='hidden' name='uid' value='{e(item.uid)}'>"
                f"<label>{reply_label}<textarea name='body' required maxlength='{MAX_REPLY_CHARS}'></textarea></label>"
                f"<button type='submit'>{send_label}</button></form></article>"
            )
        parts.append("</section>")
    parts.append("</body></html>")
    return "".join(parts)


def _problem(text: str, status: int) -> HTMLResponse:
    """Why a reply was not sent, as a page a person reads, with the way back to the mailboxes."""
    e = html.escape
    # Translated outside the f-strings, where pybabel extract can see them.
    title, back = e(_("Demo mailboxes")), e(_("Back to the mailboxes"))
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title>"
            f"<link rel='stylesheet' href='/demo/mailbox.css'></head><body><h1>{title}</h1>"
            f"<p class='problem' role='alert'>{e(text)}</p><p><a href='/demo/mailbox'>{back}</a></p></body></html>")
    return HTMLResponse(page, status_code=status, headers={"Cache-Control": "no-store"})


def mailbox_routes(mailboxes: Mailboxes) -> list[BaseRoute]:
    """The routes to add to the widget app (runtime mounts them next to /healthz)."""

    async def page(request: Request) -> Response:
        inboxes: dict[str, list[InboxEmail] | str] = {}
        for address in mailboxes.users:
            try:
                inboxes[address] = await run_in_threadpool(mailboxes.inbox, address)
            except (OSError, imaplib.IMAP4.error) as exc:
                log.warning("demo mailbox: cannot read %s: %s", address, exc)
                inboxes[address] = _("This inbox cannot be read right now ({error}); reload the page.").format(
                    error=exc
                )
        notice = (
            _("Your reply was sent; it shows up in the conversation in a moment.")
            if request.query_params.get("sent")
            else ""
        )
        return HTMLResponse(_page(mailboxes, inboxes, notice), headers={"Cache-Control": "no-store"})

    async def style(request: Request) -> Response:
        return Response(_STYLE, media_type="text/css")

    async def reply(request: Request) -> Response:
        form = parse_qs((await request.body()).decode("utf-8", "replace"))
        address = (form.get("address") or [""])[0]
        uid = (form.get("uid") or [""])[0]
        text = (form.get("body") or [""])[0].strip()
        if address not in mailboxes.users or not uid.isdigit() or not text or len(text) > MAX_REPLY_CHARS:
            message = _("A reply needs a demo mailbox, an email to answer and a text of at most {limit} characters.")
            return _problem(message.format(limit=MAX_REPLY_CHARS), 400)
        try:
            await run_in_threadpool(mailboxes.reply, address, uid, text)
        except LookupError:
            return _problem(_("That email is no longer in the inbox."), 404)
        except (OSError, smtplib.SMTPException, imaplib.IMAP4.error) as exc:
            log.warning("demo mailbox: reply from %s failed: %s", address, exc)
            return _problem(_("The reply could not be sent ({error}); try again.").format(error=exc), 502)
        return RedirectResponse("/demo/mailbox?sent=1", status_code=303)

    return [Route("/demo/mailbox", page, methods=["GET"]), Route("/demo/mailbox.css", style, methods=["GET"]),
            Route("/demo/mailbox/reply", reply, methods=["POST"])]
