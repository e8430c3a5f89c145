"""mail.imap_link against a real pymap server: the aioimaplib behaviour the poller relies on, and every wait bounded."""
from __future__ import annotations

import asyncio

import pytest

from mail.imap_link import ImapLink, LinkDown, LinkSilent
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
    assert (await link.login("support", "pw")).result == "OK"
    assert (await link.select("INBOX")).result == "OK"
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
    found = await link.uid_search("UID 1:*")
    assert found.result == "OK" and any(b"1" in bytes(line) for line in found.lines[:-1])
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
    assert (await link.noop()).result == "OK"
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
    with pytest.raises(LinkSilent, match="no answer to NOOP within 0.5 s"):
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
    found = await link.uid_search("UID 1:*")
    assert not any(b"EXISTS" in bytes(line) for line in found.lines)  # aioimaplib leaves it out of the response
    assert link.take_new_mail() is True
    assert link.take_new_mail() is False  # taken
    link.close()
