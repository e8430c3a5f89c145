"""The poller when the link fails: a half-open link found by keepalive, a prompt stop in any state, backoff reset.

A StallingProxy (tests/fixtures/tcp_proxy.py) sits between the poller and the IMAP server; stall() makes the open
link swallow bytes without closing, which is what a dropped NAT mapping or an unplugged far end looks like.
"""
from __future__ import annotations

import asyncio
import logging
import re

import pytest

from mail.poller import ImapPoller
from tests.fixtures.imap import wait_for
from tests.mail.test_poller_imap import email_messages, running


def poller_via_proxy(world, target, proxy, backoff: tuple[float, float] = (0.05, 0.2), **imap) -> ImapPoller:
    config = target.imap_config(world.config, port=proxy.port, **imap)
    return ImapPoller(world.db, config, world.clock, world.signer, backoff_base=backoff[0], backoff_cap=backoff[1])


async def test_a_half_open_link_is_noticed_by_keepalive_and_the_next_email_is_filed(imap_target, imap_proxy,
                                                                                      inbound_world):
    world = inbound_world
    # Polling and IDLE renewal are far off: only the keepalive can notice the dead link.
    poller = poller_via_proxy(world, imap_target, imap_proxy, keepalive=3, poll_interval=600, idle_renew=600)
    async with running(poller):
        await wait_for(lambda: poller.idles >= 1 and imap_proxy.saw(b"IDLE\r\n"))
        assert imap_proxy.stall() == 1  # new connections still get through: the network is back, the old link not
        await wait_for(lambda: poller.connections >= 2, timeout=60)
        await imap_target.append(world.reply("after the dead link"))
        await wait_for(lambda: email_messages(world), timeout=30)
    assert [m.body for m in email_messages(world)] == ["after the dead link"]


@pytest.mark.parametrize("state", ["half-open in IDLE", "half-open while connecting", "connection closed at once"])
async def test_stop_returns_promptly_whatever_the_link_state(imap_target, imap_proxy, inbound_world, state):
    world = inbound_world
    # The default keepalive (60 s); when every connection is closed, a long backoff wait that stop() must cut short.
    poller = poller_via_proxy(world, imap_target, imap_proxy, backoff=(60.0, 60.0))
    if state == "half-open while connecting":
        imap_proxy.mode = "stall"
    elif state == "connection closed at once":
        imap_proxy.mode = "close"
    task = asyncio.create_task(poller.run())
    try:
        if state == "half-open in IDLE":
            await wait_for(lambda: poller.idles >= 1 and imap_proxy.saw(b"IDLE\r\n"))
            imap_proxy.stall(new_connections="stall")
        else:
            await wait_for(lambda: imap_proxy.accepted >= 1)
        # Generous for a loaded machine, yet far below what a dead link used to cost (30 s and more).
        await asyncio.wait_for(poller.stop(), 10)
        await asyncio.wait_for(task, 5)
    finally:
        task.cancel()
    assert task.exception() is None


async def test_backoff_starts_over_after_a_session_that_worked(imap_target, imap_proxy, inbound_world, caplog):
    world = inbound_world
    poller = poller_via_proxy(world, imap_target, imap_proxy, backoff=(0.2, 60.0))
    delays = re.compile(r"reconnecting in ([\d.]+) s")

    def logged_delays() -> list[float]:
        return [float(m.group(1)) for r in caplog.records if (m := delays.search(r.getMessage()))]

    imap_proxy.mode = "close"  # an outage: every connection fails at once
    with caplog.at_level(logging.WARNING, logger="mail.poller"):
        async with running(poller):
            await wait_for(lambda: len(logged_delays()) >= 4, timeout=60)
            imap_proxy.mode = "forward"
            await wait_for(lambda: poller.connections == 1 and poller.idles >= 1, timeout=60)
            outage = len(logged_delays())
            assert imap_proxy.drop() == 1  # a later outage, after hours of good service
            await wait_for(lambda: len(logged_delays()) > outage, timeout=60)
            await wait_for(lambda: poller.connections == 2, timeout=60)
    after_good_session = logged_delays()[outage]
    assert logged_delays()[outage - 1] >= 0.4  # the outage had grown the delay ...
    assert after_good_session <= 0.2  # ... and the good session reset it to the first step (0.1 to 0.2 s)
