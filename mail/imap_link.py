"""One IMAP connection for the poller: aioimaplib behind typed commands and waits that end when the link closes.

aioimaplib leaves a command waiting for ever when the connection drops (its commands never hear of it) and has no
bound on IDLE's start; every wait here therefore races the connection-lost callback and a timeout. This is the one
module that knows aioimaplib: its protocol object (transport, IDLE queue, untagged responses, STARTTLS, MOVE and
pending tasks) and the shape of its responses (result codes, SEARCH and FETCH lines, literals). The poller sees
UIDs, raw emails and exceptions only. tests/mail/test_imap_link.py pins each behaviour relied on against a real
server, so an aioimaplib upgrade that changes one fails there.
"""
from __future__ import annotations

import asyncio
import re
import ssl
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

from aioimaplib import aioimaplib

IDLE_LIMIT_SECONDS = 29 * 60  # RFC 2177: servers may drop an IDLE after 30 minutes
_EXISTS = re.compile(rb"\* \d+ EXISTS\b")


class ImapError(Exception):
    """The server refused a command the poller needs (login, select, fetch)."""


class LinkDown(ConnectionError):
    """The connection closed, or gave no answer in time; the poller drops it and reconnects."""


class LinkSilent(LinkDown):
    """No answer within the timeout: the link is most likely half-open (a dead peer or a dropped NAT mapping)."""


class ImapLink:
    """open(), then commands; each answer must come within `timeout` seconds or the link counts as dead."""

    def __init__(self, host: str, port: int, *, tls: str = "none", timeout: float = 30.0,
                 ssl_context: Callable[[], ssl.SSLContext] | None = None) -> None:
        self.host = host
        self.port = port
        self.tls = tls
        self.timeout = timeout
        self._ssl_context = ssl_context or ssl.create_default_context
        self.lost = asyncio.Event()
        self._client: aioimaplib.IMAP4 | None = None
        self._new_mail = False  # an untagged EXISTS arrived since take_new_mail() last looked

    # --- connecting ---------------------------------------------------------------------------------------
    async def open(self) -> None:
        """Connect, read the greeting and (with tls="starttls") upgrade, all within timeout."""
        lost = self.lost

        def connection_lost(exc: Exception | None) -> None:
            lost.set()

        if self.tls == "tls":
            client: aioimaplib.IMAP4 = aioimaplib.IMAP4_SSL(host=self.host, port=self.port, timeout=self.timeout,
                                                            ssl_context=self._ssl_context())
            client.protocol.conn_lost_cb = (
                connection_lost  # IMAP4_SSL takes no callback; the connection is not made yet
            )
        else:
            client = aioimaplib.IMAP4(host=self.host, port=self.port, timeout=self.timeout,
                                      conn_lost_cb=connection_lost)
        self._client = client
        self._watch_exists(client.protocol)
        await self._answer(client.wait_hello_from_server(), "the greeting")
        if self.tls == "starttls":
            await self._starttls(client)

    async def _starttls(self, client: aioimaplib.IMAP4) -> None:
        """aioimaplib has no STARTTLS command: send it, then upgrade the transport under the same protocol."""
        protocol = client.protocol
        response = await self._answer(protocol.execute(aioimaplib.Command("STARTTLS", protocol.new_tag())), "STARTTLS")
        if response.result != "OK":
            raise LinkDown(f"the server refused STARTTLS: {response.lines}")
        loop = asyncio.get_running_loop()
        protocol.transport = await self._answer(
            loop.start_tls(protocol.transport, protocol, self._ssl_context(), server_hostname=self.host),
            "the TLS handshake")
        await self._answer(protocol.capability(), "CAPABILITY")

    def _watch_exists(self, protocol: aioimaplib.IMAP4ClientProtocol) -> None:
        """Note every untagged EXISTS, whichever command it came with.

        A server announces mail that arrives during a command in that command's response, and then not again in
        IDLE; aioimaplib drops such lines when the command is SEARCH or STORE ("ignored untagged response"). A
        SEARCH whose result missed a message its own response announced would otherwise leave that message waiting
        for the next IDLE renewal (seen with pymap, whose `UID n:*` answer is computed before the APPEND lands).
        """
        original = protocol._untagged_response

        def untagged_response(line: bytes) -> Any:
            if _EXISTS.match(line):
                self._new_mail = True
            return original(line)

        protocol._untagged_response = untagged_response

    def take_new_mail(self) -> bool:
        """Whether the server announced mail (EXISTS) since the last call; clears the note."""
        announced, self._new_mail = self._new_mail, False
        return announced

    @property
    def encrypted(self) -> bool:
        transport = self._protocol.transport
        return transport is not None and transport.get_extra_info("ssl_object") is not None

    def has_capability(self, name: str) -> bool:
        return bool(self._require().has_capability(name))

    # --- commands -------------------------------------------------------------------------------------------
    async def login(self, user: str, password: str) -> None:
        _ok(await self._answer(self._require().login(user, password), "LOGIN"), "LOGIN")

    async def select(self, mailbox: str) -> int:
        """Select mailbox; returns its UIDVALIDITY (0 when the server names none)."""
        response = _ok(await self._answer(self._require().select(mailbox), f"SELECT {mailbox}"), f"SELECT {mailbox}")
        return uidvalidity(response.lines)

    async def uids_after(self, last_uid: int) -> list[int]:
        """The UIDs above last_uid, ascending (`UID n:*` also answers the highest UID when there is none above)."""
        response = _ok(await self._answer(self._require().uid_search(f"UID {last_uid + 1}:*", charset=None),
                                          "UID SEARCH"), "UID SEARCH")
        return sorted(uid for uid in search_uids(response.lines) if uid > last_uid)

    async def fetch_raw(self, uids: Sequence[int]) -> list[tuple[int, bytes]]:
        """(UID, raw email) for uids, by UID; BODY.PEEK leaves \\Seen unset until mark_seen()."""
        # No bound on the whole FETCH (25 MB emails take a while); aioimaplib's own timer fails it when no data
        # arrives for `timeout` seconds, and a dropped connection ends it at once.
        response = _ok(await self._answer(self._require().uid("fetch", ",".join(map(str, uids)), "(UID BODY.PEEK[])"),
                                          "UID FETCH", timeout=None), "UID FETCH")
        return sorted(parse_fetch(response.lines))

    async def mark_seen(self, uid: int) -> None:
        await self._uid("store", str(uid), "+FLAGS.SILENT (\\Seen)")

    async def move(self, uid: int, mailbox: str) -> None:
        """UID MOVE when the server offers MOVE, else COPY, flag \\Deleted and EXPUNGE."""
        if self.has_capability("MOVE"):
            # IMAP4.move() sends MOVE, not UID MOVE; the protocol's move() takes by_uid.
            _ok(await self._answer(self._protocol.move(str(uid), mailbox, by_uid=True), "UID MOVE"), "UID MOVE")
            return
        await self._uid("copy", str(uid), mailbox)
        await self._uid("store", str(uid), "+FLAGS.SILENT (\\Deleted)")
        await self._answer(self._require().expunge(), "EXPUNGE")

    async def noop(self) -> None:
        _ok(await self._answer(self._require().noop(), "NOOP"), "NOOP")

    async def _uid(self, command: str, *args: str) -> None:
        what = f"UID {command.upper()}"
        _ok(await self._answer(self._require().uid(command, *args), what), what)

    async def logout(self, timeout: float) -> None:
        """A polite goodbye, bounded; a server that does not answer is left as it is."""
        try:
            await self._answer(self._require().logout(), "LOGOUT", timeout=timeout)
        except Exception:  # noqa: BLE001, S110 - best effort: the link is being dropped whatever the answer
            pass

    async def idle(self, renew: float, wake: asyncio.Event, on_idling: Callable[[], Any] | None = None) -> bool:
        """One IDLE round: until the server pushes, renew seconds pass, or wake is set; then DONE and its answer.

        Returns whether the server pushed something. Both ends of the round are answered within timeout, so a
        half-open link raises LinkSilent by renew + timeout at the latest. on_idling is called once the server has
        accepted IDLE (the poller counts rounds with it).
        """
        client = self._require()
        queue = self._protocol.idle_queue
        while not queue.empty():  # pushes left from the last round, already handled by the SEARCH that followed
            queue.get_nowait()
        # idle_start() waits for the server's "+ idling"; its own renewal timer is not used (we send DONE ourselves).
        idle_done = await self._answer(client.idle_start(timeout=IDLE_LIMIT_SECONDS), "IDLE")
        if on_idling is not None:
            on_idling()
        push = asyncio.ensure_future(queue.get())
        waits = {push, asyncio.ensure_future(self.lost.wait()), asyncio.ensure_future(wake.wait())}
        try:
            await asyncio.wait(waits, timeout=renew, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in waits:
                task.cancel()
        if self.lost.is_set():
            raise LinkDown("the IMAP connection closed during IDLE")
        pushed = push.done() and not push.cancelled() and push.result() != aioimaplib.STOP_WAIT_SERVER_PUSH
        if client.has_pending_idle():
            client.idle_done()  # sends DONE and cancels idle_start's timer
        await self._answer(idle_done, "IDLE (DONE)")
        return pushed

    # --- closing ----------------------------------------------------------------------------------------------
    def close(self) -> None:
        """Drop the connection at once and cancel what aioimaplib still waits on, so nothing lingers."""
        client, self._client = self._client, None
        if client is None:
            return
        protocol = client.protocol
        if protocol.transport is not None:
            protocol.transport.abort()
        for task in [*client.tasks, *protocol.tasks]:
            task.cancel()
        if not client._client_task.done():
            client._client_task.cancel()

    # --- bounded waits ------------------------------------------------------------------------------------------
    _DEFAULT = object()

    async def _answer(self, awaitable: Awaitable[Any], what: str, timeout: Any = _DEFAULT) -> Any:
        """awaitable's result; LinkDown when the connection closes first, LinkSilent after timeout (None: no bound)."""
        limit = self.timeout if timeout is ImapLink._DEFAULT else timeout
        work = asyncio.ensure_future(awaitable)
        lost = asyncio.ensure_future(self.lost.wait())
        try:
            done, _pending = await asyncio.wait({work, lost}, timeout=limit, return_when=asyncio.FIRST_COMPLETED)
        finally:
            lost.cancel()
            if not work.done():
                work.cancel()  # also when our caller is cancelled: stop() cuts a session short this way
        if work in done:
            try:
                return work.result()
            except (TimeoutError, aioimaplib.CommandTimeout):  # aioimaplib's own timer, same bound
                raise LinkSilent(f"no answer to {what} within {self.timeout:g} s; the connection is treated as "
                                 f"dead (imap.keepalive bounds this wait)") from None
        if self.lost.is_set():
            raise LinkDown(f"the IMAP connection closed while waiting for {what}")
        raise LinkSilent(f"no answer to {what} within {limit:g} s; the connection is treated as dead "
                         f"(imap.keepalive bounds this wait)")

    def _require(self) -> aioimaplib.IMAP4:
        if self._client is None:
            raise LinkDown("the IMAP connection is closed")
        return self._client

    @property
    def _protocol(self) -> aioimaplib.IMAP4ClientProtocol:
        return self._require().protocol


# --- reading aioimaplib's responses ---------------------------------------------------------------------------
def _ok(response: Any, what: str) -> Any:
    """response when its result is OK; ImapError naming the command and the server's last line otherwise."""
    if response.result != "OK":
        detail = b" ".join(bytes(line) for line in response.lines[-1:]).decode("utf-8", "replace")
        raise ImapError(f"IMAP {what} failed: {detail}")
    return response


def uidvalidity(lines: Iterable[Any]) -> int:
    """The UIDVALIDITY in a SELECT response's lines, 0 when absent."""
    found = 0
    for line in lines:
        match = re.search(rb"UIDVALIDITY (\d+)", bytes(line))
        if match:
            found = int(match.group(1))
    return found


def parse_fetch(lines: list[Any]) -> list[tuple[int, bytes]]:
    """(UID, raw message) pairs from a UID FETCH (UID BODY.PEEK[]) response, whatever order the items come in.

    aioimaplib hands each literal over as its own line after the one announcing it (`{size}`).
    """
    found: list[tuple[int, bytes]] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        if isinstance(line, bytes) and b"FETCH" in line \
                and re.search(rb"\{\d+\}$", line) and index + 1 < len(lines):
            literal = bytes(lines[index + 1])
            uid_match = re.search(rb"UID (\d+)", line)
            if uid_match is None and index + 2 < len(lines):
                uid_match = re.search(rb"UID (\d+)", bytes(lines[index + 2]))
            if uid_match is not None:
                found.append((int(uid_match.group(1)), literal))
            index += 2
            continue
        index += 1
    return found


def search_uids(lines: list[Any]) -> set[int]:
    """UIDs from a UID SEARCH response; aioimaplib strips "* SEARCH", and untagged EXISTS/RECENT lines may mix in."""
    uids: set[int] = set()
    for line in lines[:-1]:
        text = bytes(line).strip()
        if text.upper().startswith(b"SEARCH"):
            text = text[6:].strip()
        if re.fullmatch(rb"\d+( \d+)*", text):
            uids.update(int(n) for n in text.split())
    return uids


__all__ = ["IDLE_LIMIT_SECONDS", "ImapError", "ImapLink", "LinkDown", "LinkSilent"]
