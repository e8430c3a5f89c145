"""mail.imap_link against a real pymap server: the aioimaplib behaviour the poller relies on, and every wait bounded."""
from __future__ import annotations

import asyncio
import re
import ssl

import pytest
from aioimaplib import aioimaplib

from mail.imap_link import ImapError, ImapLink, LinkDown, LinkSilent, parse_fetch, search_uids
from tests.fixtures.tcp_proxy import StallingProxy
from threadline.embedded_imap import EmbeddedImap

EMAIL = b"From: x@example.org\r\nSubject: hello\r\nMessage-ID: <link@example.org>\r\n\r\nhello\r\n"


@pytest.fixture
async def server():
    async with EmbeddedImap({"support": "pw"}) as imap:
        yield imap


@pytest.fixture
async def proxy(server):
    proxy = await StallingProxy(server.host, server.port).start()
    yield proxy
    await proxy.stop()


async def selected(port: int) -> ImapLink:
    link = ImapLink("127.0.0.1", port, timeout=10.0)
    await link.open()
    await link.login("support", "pw")
    await link.select("INBOX")
    return link


def client_tasks() -> set[asyncio.Task]:
    """Pending tasks running aioimaplib or mail.imap_link code (the server's and the proxy's are not ours)."""
    return {task for task in asyncio.all_tasks() if not task.done()
            and any(part in task.get_coro().cr_code.co_filename for part in ("/aioimaplib/", "/mail/imap_link.py"))}


async def test_a_push_during_idle_ends_the_round_and_the_link_stays_usable(server):
    link = await selected(server.port)
    assert link.has_capability("IDLE") and link.encrypted is False
    idling = asyncio.Event()
    round_ = asyncio.create_task(link.idle(renew=60, wake=asyncio.Event(), on_idling=idling.set))
    await asyncio.wait_for(idling.wait(), 10)
    await server.append("support", EMAIL)
    assert await asyncio.wait_for(round_, 30) is True  # pushed (a renewal would have come only after 60 s)
    assert len(await link.uids_after(0)) == 1
    link.close()


async def test_a_quiet_round_ends_at_renewal_and_a_wake_ends_it_early(server):
    link = await selected(server.port)
    assert await link.idle(renew=0.05, wake=asyncio.Event()) is False  # nothing pushed; DONE answered
    wake = asyncio.Event()
    idling = asyncio.Event()
    round_ = asyncio.create_task(link.idle(renew=600, wake=wake, on_idling=idling.set))
    await asyncio.wait_for(idling.wait(), 10)
    wake.set()
    assert await asyncio.wait_for(round_, 30) is False
    await link.noop()  # the link is still in step after DONE
    link.close()


async def test_a_dropped_connection_ends_idle_with_link_down(server):
    link = await selected(server.port)
    idling = asyncio.Event()
    round_ = asyncio.create_task(link.idle(renew=600, wake=asyncio.Event(), on_idling=idling.set))
    await asyncio.wait_for(idling.wait(), 10)
    assert server.drop_connections() >= 1
    with pytest.raises(LinkDown) as raised:
        await asyncio.wait_for(round_, 30)
    assert not isinstance(raised.value, LinkSilent)
    link.close()


async def test_a_half_open_link_raises_link_silent_in_idle_and_on_a_command(server, proxy):
    link, command_link = await selected(proxy.port), await selected(proxy.port)
    link.timeout = command_link.timeout = 0.5  # short only once logged in: a loaded machine may log in slowly
    assert proxy.stall() == 2
    with pytest.raises(LinkSilent):  # the renewal's DONE goes unanswered
        await asyncio.wait_for(link.idle(renew=0.2, wake=asyncio.Event()), 30)
    with pytest.raises(LinkSilent, match=r"no answer to NOOP within 0\.5 s"):
        await asyncio.wait_for(command_link.noop(), 30)
    link.close()
    command_link.close()


@pytest.mark.parametrize("mode, error", [("stall", LinkSilent), ("close", LinkDown)])
async def test_opening_a_link_to_a_server_that_hangs_or_hangs_up_fails_in_bounded_time(proxy, mode, error):
    proxy.mode = mode
    link = ImapLink("127.0.0.1", proxy.port, timeout=0.5)
    with pytest.raises(error):
        await asyncio.wait_for(link.open(), 30)
    link.close()


async def test_cancelling_a_wait_and_closing_leaves_no_task_behind(server, proxy):
    link = await selected(proxy.port)
    proxy.stall()
    waiting = asyncio.create_task(link.noop())  # waits up to 10 s for an answer that never comes
    await asyncio.sleep(0)
    waiting.cancel()  # what stop() does to a session the server leaves hanging
    with pytest.raises(asyncio.CancelledError):
        await waiting
    link.close()
    for _ in range(5):  # let cancelled tasks run their last step
        await asyncio.sleep(0)
    assert client_tasks() == set()


async def test_mail_announced_in_a_search_response_is_noted_although_aioimaplib_drops_the_line(server):
    link = await selected(server.port)
    link.take_new_mail()  # SELECT's own "* 0 EXISTS" counts too
    assert link.take_new_mail() is False
    await server.append("support", EMAIL)  # on another connection, while this one is selected and not idling
    await link.uids_after(0)  # pymap may answer before the APPEND lands; its EXISTS still comes with the answer
    assert link.take_new_mail() is True
    assert link.take_new_mail() is False  # taken
    link.close()


def email(n: int, body: bytes = b"hello") -> bytes:
    return b"From: x@example.org\r\nSubject: n%d\r\nMessage-ID: <n%d@example.org>\r\n\r\n%s\r\n" % (n, n, body)


async def flags(server: EmbeddedImap, mailbox: str) -> dict[int, bytes]:
    """UID -> FLAGS of every email in mailbox, read on the server's own client (not through ImapLink)."""
    client = await server.client("support")
    assert (await client.select(mailbox)).result == "OK"
    found = await client.uid("fetch", "1:*", "(FLAGS)")
    result = {}
    for line in found.lines[:-1]:
        uid = re.search(rb"UID (\d+)", bytes(line))
        if uid:
            result[int(uid.group(1))] = bytes(line)
    return result


async def test_select_answers_the_mailboxs_uidvalidity_and_a_refusal_raises_imap_error(server):
    link = await selected(server.port)
    validity = await link.select("INBOX")
    assert validity > 0 and validity == await (await selected(server.port)).select("INBOX")
    with pytest.raises(ImapError, match="SELECT Nowhere"):
        await link.select("Nowhere")
    link.close()
    wrong = ImapLink("127.0.0.1", server.port, timeout=10.0)
    await wrong.open()
    with pytest.raises(ImapError, match="LOGIN"):
        await wrong.login("support", "not the password")
    wrong.close()


async def test_uids_after_and_fetch_raw_return_exact_bytes_of_each_email_by_uid(server):
    big = b"x" * 200_000  # a literal much larger than one read: aioimaplib must hand it over whole
    for n, body in ((1, b"one"), (2, b"two"), (3, big)):
        await server.append("support", email(n, body))
    link = await selected(server.port)
    first, second, third = await link.uids_after(0)
    assert first < second < third
    assert await link.uids_after(first) == [second, third]
    assert await link.uids_after(third) == []  # `UID n+1:*` also names the highest UID; it is not above
    fetched = await link.fetch_raw([third, second])
    assert [uid for uid, _raw in fetched] == [second, third]
    assert [raw.replace(b"\r\n", b"\n") for _uid, raw in fetched] == \
        [email(2, b"two").replace(b"\r\n", b"\n"), email(3, big).replace(b"\r\n", b"\n")]
    assert not any(b"\\Seen" in line for line in (await flags(server, "INBOX")).values())  # PEEK
    link.close()


async def test_mark_seen_flags_one_email(server):
    await server.append("support", email(1))
    await server.append("support", email(2))
    link = await selected(server.port)
    first, second = await link.uids_after(0)
    await link.mark_seen(second)
    found = await flags(server, "INBOX")
    assert b"\\Seen" in found[second] and b"\\Seen" not in found[first]
    link.close()


@pytest.mark.parametrize("with_move", [True, False])
async def test_move_takes_the_email_out_of_the_inbox_with_or_without_the_move_capability(server, with_move):
    await server.append("support", email(1))
    await server.append("support", email(2))
    client = await server.client("support")
    assert (await client.create("Processed")).result == "OK"
    link = await selected(server.port)
    assert link.has_capability("MOVE")
    if not with_move:  # the COPY + \Deleted + EXPUNGE path a server without MOVE gets
        link.has_capability = lambda name: name != "MOVE"  # type: ignore[method-assign]
    first, second = await link.uids_after(0)
    await link.move(first, "Processed")
    assert len(await flags(server, "Processed")) == 1
    assert list(await flags(server, "INBOX")) == [second]
    assert await link.uids_after(0) == [second]  # the link itself sees the inbox without it
    link.close()


async def test_starttls_upgrades_the_link_and_encrypted_says_so(certificate):
    ca_file, context = certificate
    async with EmbeddedImap({"support": "pw"}, tls="starttls", ssl_context=context) as server:
        plain = ImapLink("127.0.0.1", server.port, timeout=10.0)
        await plain.open()
        assert plain.encrypted is False
        plain.close()
        link = ImapLink("127.0.0.1", server.port, tls="starttls", timeout=10.0,
                        ssl_context=lambda: ssl.create_default_context(cafile=ca_file))
        await link.open()
        assert link.encrypted is True
        await link.login("support", "pw")
        assert await link.select("INBOX") > 0
        link.close()


async def test_implicit_tls_link_is_encrypted_and_hears_a_dropped_connection(certificate):
    ca_file, context = certificate
    async with EmbeddedImap({"support": "pw"}, tls="tls", ssl_context=context,
                            client_ssl_context=ssl.create_default_context(cafile=ca_file)) as server:
        link = ImapLink("127.0.0.1", server.port, tls="tls", timeout=10.0,
                        ssl_context=lambda: ssl.create_default_context(cafile=ca_file))
        await link.open()
        await link.login("support", "pw")
        await link.select("INBOX")
        assert link.encrypted is True
        assert server.drop_connections() >= 1
        # IMAP4_SSL takes no connection-lost callback: the one set on its protocol must still fire.
        await asyncio.wait_for(link.lost.wait(), 10)
        with pytest.raises(LinkDown):
            await link.noop()
        link.close()


def test_search_and_fetch_responses_are_read_strictly():
    assert search_uids([b"3 EXISTS", b"1 RECENT", b"101 102", b"UID SEARCH completed."]) == {101, 102}
    assert search_uids([b"SEARCH 7", b"OK done"]) == {7}
    lines = [b"1 FETCH (UID 101 BODY[] {5}", bytearray(b"hello"), b")",
             b"2 FETCH (BODY[] {3}", bytearray(b"abc"), b" UID 102)", b"FETCH completed."]
    assert parse_fetch(lines) == [(101, b"hello"), (102, b"abc")]


def test_aioimaplib_still_has_what_the_link_reaches_into():
    """Names ImapLink uses that are not aioimaplib's public API; a rename upstream fails here first, by name."""
    protocol = aioimaplib.IMAP4ClientProtocol
    for name in ("_untagged_response", "move", "execute", "new_tag", "capability"):
        assert callable(getattr(protocol, name, None)), name
    assert aioimaplib.STOP_WAIT_SERVER_PUSH and aioimaplib.Command and aioimaplib.CommandTimeout
