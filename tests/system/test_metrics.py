"""GET /metrics on a running `threadline demo --headless` (real embedded SMTP and IMAP servers): the text format
parses, the desk's gauges are there, and the counters move when a notification is sent and a reply is filed."""
from __future__ import annotations

import email.utils
import smtplib
import time
from email.message import EmailMessage
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.system.test_demo import _chat_and_leave, _wait_for_email, running_demo


def scrape(widget: httpx.Client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of /metrics by (name, sorted labels)."""
    answer = widget.get("/metrics")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain; version=")
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(answer.text) for sample in family.samples}


def wait_for_sample(widget: httpx.Client, name: str, labels: dict[str, str], at_least: float,
                    timeout: float = 15) -> float:
    key = (name, tuple(sorted(labels.items())))
    deadline = time.monotonic() + timeout
    while True:
        value = scrape(widget).get(key, 0.0)
        if value >= at_least or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


def test_metrics_count_the_notification_sent_and_the_reply_filed(tmp_path: Path) -> None:
    with running_demo(tmp_path) as state, httpx.Client(base_url=state["url"], timeout=10) as widget:
        before = scrape(widget)
        assert before[("threadline_emails_total", (("result", "sent"),))] == 0
        assert before[("threadline_inbound_emails_total", (("outcome", "posted"),))] == 0
        assert before[("threadline_conversations_waiting", ())] == 0
        assert ("threadline_outbox_jobs", (("status", "pending"),)) in before
        assert wait_for_sample(widget, "threadline_imap_connected", {}, 1) == 1  # the demo's poller logged in

        _chat_and_leave(widget, state["database_url"])
        notification = _wait_for_email("alice@example.net", state["mailbox_password"], state["imap_port"], 30)
        assert wait_for_sample(widget, "threadline_emails_total", {"result": "sent"}, 1) == 1
        after_send = scrape(widget)
        assert after_send[("threadline_outbox_jobs", (("status", "sent"),))] == 1
        latency = [key for key in after_send if key[0] == "threadline_http_request_duration_seconds_count"
                   and ("route", "/api/v1/conversations") in key[1]]
        assert latency and all(after_send[key] >= 1 for key in latency)

        reply = EmailMessage()
        reply["From"] = "Alice <alice@example.net>"
        reply["To"] = str(notification["Reply-To"] or notification["From"])
        reply["Subject"] = f"Re: {notification['Subject']}"
        reply["Message-ID"] = email.utils.make_msgid(domain="example.net")
        reply["In-Reply-To"] = notification["Message-ID"]
        reply.set_content("Thanks, that works.")
        with smtplib.SMTP("127.0.0.1", state["smtp_port"], timeout=10) as smtp:
            smtp.send_message(reply)
        assert wait_for_sample(widget, "threadline_inbound_emails_total", {"outcome": "posted"}, 1) == 1
        assert scrape(widget)[("threadline_conversations_waiting", ())] == 1  # the reply waits for an agent

        # Through a reverse proxy (even one on this machine) /metrics is not there.
        proxied = widget.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"})
        assert proxied.status_code == 404
