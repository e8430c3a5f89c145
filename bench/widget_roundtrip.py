"""Benchmark: 200 widget WebSocket clients; latency of end user -> agent side and agent -> end user's socket.

Runs a real uvicorn server with the widget app on 127.0.0.1 over a SQLite file, then over PostgreSQL (a private
cluster unless THREADLINE_BENCH_DATABASE_URL is set), starts 200 conversations, keeps one WebSocket open per
conversation, then measures:
  to_agent:    end user's HTTP POST sent -> an agent-side follower of the event log sees the message
  to_end_user: agent posts (ConversationService, in this process) -> the conversation's WebSocket client has it
  to_end_user_cross_process: the agent posts from another process (as the agent console does), which the server
                             sees by polling the event log (SQLite) or by LISTEN/NOTIFY (PostgreSQL); timed from
                             the post's commit (what push or polling adds), while
  to_end_user_cross_process_post: times the same messages from the start of the post, so it adds the writing
                             transaction (the agent's view; monotonic clocks are system-wide, so both processes agree)
PostgreSQL figures carry the prefix postgresql_; postgresql_cross_process_p95_ms is the push figure.
Usage: python bench/widget_roundtrip.py [--clients N] [--database sqlite|postgresql|both]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import socket
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import uvicorn
from sqlmodel import select
from websockets.asyncio.client import connect

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._postgres import bench_database_url
from core import schema
from core.agents import AgentService
from core.clock import SystemClock
from core.config import Config
from core.conversations import ConversationService
from core.db import Database
from core.event_push import EventPush
from core.events import EventLog, wakeup
from core.models import Conversation
from core.tokens import TokenSigner
from widget.app import create_app

TARGET_P95_MS = 50.0
PUSH_TARGET_P95_MS = 10.0  # cross-process delivery on PostgreSQL, by push
# The agent console's side when it runs in its own process: posts paced replies, prints when each was sent.
AGENT_PROCESS = """
import json, sys, time
from core.clock import SystemClock
from core.conversations import ConversationService
from core.db import Database
db = Database(sys.argv[1])
agent_id, pace = int(sys.argv[2]), float(sys.argv[4])
for public_id, conversation_id in json.loads(sys.argv[3]):
    with db.session() as session:
        posting = time.monotonic()
        seq = ConversationService(session, SystemClock()).post_agent_message(conversation_id, agent_id, "pong").seq
        committed = time.monotonic()
    print(json.dumps({"public_id": public_id, "seq": seq, "t0": committed, "posting": posting}), flush=True)
    time.sleep(pace)
"""
PACE_SECONDS = 0.01  # one message every 10 ms in each direction: steady load, not a burst


class AgentSideFollower:
    """Stands in for the agent console: follows the event log by cursor, woken by commits in this process."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.seen: dict[tuple[int, int], float] = {}
        self._nudge = threading.Event()
        self._stop = threading.Event()
        with db.read_session() as session:
            self.cursor = EventLog(session).latest_id()
        wakeup.subscribe(self._nudge.set)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._nudge.wait(0.2)
            self._nudge.clear()
            with self.db.read_session() as session:
                events = EventLog(session).after(self.cursor)
            now = time.monotonic()
            for event in events:
                self.cursor = event.id
                if event.kind == "message.posted" and event.payload.get("author_kind") == "end_user":
                    self.seen[(event.conversation_id, event.payload["seq"])] = now

    def stop(self) -> None:
        self._stop.set()
        self._nudge.set()
        wakeup.unsubscribe(self._nudge.set)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def start_server(app) -> tuple[uvicorn.Server, threading.Thread, str]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on", ws="auto",
                                           access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    return server, thread, f"127.0.0.1:{listener.getsockname()[1]}"


async def run(clients: int, url: str | None = None) -> dict[str, float]:
    folder = Path(tempfile.mkdtemp(prefix="threadline-bench-"))
    db = Database(url or f"sqlite:///{folder / 'threadline.db'}")
    schema.upgrade(db.engine)
    # serve's one LISTEN connection per process (on SQLite it does nothing).
    push = EventPush(db.engine, wakeup)
    push.start()
    if push.enabled and not push.wait_listening(30):
        raise SystemExit("the LISTEN connection did not come up within 30 s")
    clock = SystemClock()
    config = Config()
    config.general.secret = "bench-secret-0123456789abcdef"
    config.widget.rate_limit_per_minute = 100_000
    config.widget.rate_limit_per_minute_per_address = 100_000
    app = create_app(config, db, clock, TokenSigner(config.general.secret))
    server, thread, address = start_server(app)
    with db.session() as session:
        agent_id = AgentService(session, clock).add("bench", "Bench Agent").id

    received: dict[tuple[str, int], float] = {}
    async with httpx.AsyncClient(base_url=f"http://{address}", timeout=30) as http:
        started = []
        for _ in range(clients):
            response = await http.post("/api/v1/conversations", json={})
            response.raise_for_status()
            started.append(response.json())
        with db.read_session() as session:
            rows = {c.public_id: c.id for c in session.exec(select(Conversation))}

        async def client(data: dict, ready: asyncio.Event) -> None:
            public_id = data["conversation"]["id"]
            async with connect(f"ws://{address}/api/v1/conversations/{public_id}/live", max_queue=None) as ws:
                await ws.send(
                    json.dumps({"type": "hello", "token": data["token"], "after": data["conversation"]["last_seq"]})
                )
                async for raw in ws:
                    frame = json.loads(raw)
                    if frame["type"] == "ready":
                        ready.set()
                    elif frame["type"] == "message" and frame["message"]["author"] == "agent":
                        received[(public_id, frame["message"]["seq"])] = time.monotonic()

        readies = [asyncio.Event() for _ in started]
        tasks = [asyncio.create_task(client(data, ready)) for data, ready in zip(started, readies, strict=True)]
        await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), 60)
        print(f"clients_connected: {clients}")

        # End user -> agent side.
        follower = AgentSideFollower(db)
        sent_to_agent: dict[tuple[int, int], float] = {}
        for data in started:
            public_id = data["conversation"]["id"]
            t0 = time.monotonic()
            response = await http.post(f"/api/v1/conversations/{public_id}/messages", json={"body": "ping"},
                                       headers={"Authorization": f"Bearer {data['token']}"})
            sent_to_agent[(rows[public_id], response.json()["seq"])] = t0
            await asyncio.sleep(PACE_SECONDS)
        deadline = time.monotonic() + 10
        while len(follower.seen) < len(sent_to_agent) and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        follower.stop()
        to_agent = [(follower.seen[key] - t0) * 1000 for key, t0 in sent_to_agent.items() if key in follower.seen]

        # Agent -> end user's socket (posting from a worker thread, as a console would).
        sent_to_user: dict[tuple[str, int], float] = {}
        loop = asyncio.get_running_loop()
        with ThreadPoolExecutor(max_workers=1) as agent_thread:
            def agent_post(public_id: str) -> tuple[float, int]:
                with db.session() as session:
                    t0 = time.monotonic()
                    seq = ConversationService(session, clock).post_agent_message(rows[public_id], agent_id, "pong").seq
                    return t0, seq

            for data in started:
                public_id = data["conversation"]["id"]
                t0, seq = await loop.run_in_executor(agent_thread, agent_post, public_id)
                sent_to_user[(public_id, seq)] = t0
                await asyncio.sleep(PACE_SECONDS)
        deadline = time.monotonic() + 10
        while len([k for k in sent_to_user if k in received]) < len(sent_to_user) and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        to_user = [(received[key] - t0) * 1000 for key, t0 in sent_to_user.items() if key in received]

        # Agent in another process (the console): only the event log connects it to this server.
        agent_process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", AGENT_PROCESS, db.engine.url.render_as_string(hide_password=False), str(agent_id),
            json.dumps([[data["conversation"]["id"], rows[data["conversation"]["id"]]] for data in started]),
            str(PACE_SECONDS), stdout=asyncio.subprocess.PIPE, cwd=str(Path(__file__).resolve().parent.parent))
        output, _ = await agent_process.communicate()
        lines = [json.loads(line) for line in output.decode().splitlines() if line.strip()]
        sent_across = {(item["public_id"], item["seq"]): item["t0"] for item in lines}
        posted_across = {(item["public_id"], item["seq"]): item["posting"] for item in lines}
        deadline = time.monotonic() + 10
        while len([k for k in sent_across if k in received]) < len(sent_across) and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        across = [(received[key] - t0) * 1000 for key, t0 in sent_across.items() if key in received]
        across_post = [(received[key] - t0) * 1000 for key, t0 in posted_across.items() if key in received]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    server.should_exit = True
    thread.join(10)
    push.stop()
    db.dispose()
    return {
        "to_agent_delivered": len(to_agent), "to_agent_sent": len(sent_to_agent),
        "to_end_user_delivered": len(to_user), "to_end_user_sent": len(sent_to_user),
        "to_agent_p50_ms": statistics.median(to_agent), "to_agent_p95_ms": percentile(to_agent, 0.95),
        "to_end_user_p50_ms": statistics.median(to_user), "to_end_user_p95_ms": percentile(to_user, 0.95),
        "to_end_user_cross_process_delivered": len(across), "to_end_user_cross_process_sent": len(sent_across),
        "to_end_user_cross_process_p50_ms": statistics.median(across),
        "to_end_user_cross_process_p95_ms": percentile(across, 0.95),
        "to_end_user_cross_process_post_p50_ms": statistics.median(across_post),
        "to_end_user_cross_process_post_p95_ms": percentile(across_post, 0.95),
        "cross_process_poll_interval_ms": app.state.feed.poll_interval * 1000,
    }


def print_postgresql(results: dict[str, float]) -> None:
    for direction in ("to_agent", "to_end_user"):
        print(f"postgresql_{direction}_p50_ms: {results[direction + '_p50_ms']:.1f}")
        print(f"postgresql_{direction}_p95_ms: {results[direction + '_p95_ms']:.1f}  (target: < {TARGET_P95_MS:.0f})")
    print(f"postgresql_cross_process_delivered: {results['to_end_user_cross_process_delivered']} of "
          f"{results['to_end_user_cross_process_sent']}  (target: all)")
    print(f"postgresql_cross_process_p50_ms: {results['to_end_user_cross_process_p50_ms']:.1f}")
    print(f"postgresql_cross_process_p95_ms: {results['to_end_user_cross_process_p95_ms']:.1f}  "
          f"(target: < {PUSH_TARGET_P95_MS:.0f}; from the commit)")
    print(f"postgresql_cross_process_post_p95_ms: {results['to_end_user_cross_process_post_p95_ms']:.1f}  "
          f"(from the start of the post: adds the agent's write; target: < {TARGET_P95_MS:.0f})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.database in ("postgresql", "both"):
        with bench_database_url() as url:
            print_postgresql(asyncio.run(run(args.clients, url)))
    if args.database == "postgresql":
        return 0
    results = asyncio.run(run(args.clients))
    print(f"to_agent_delivered: {results['to_agent_delivered']} of {results['to_agent_sent']}  (target: all)")
    print(f"to_end_user_delivered: {results['to_end_user_delivered']} of {results['to_end_user_sent']}  (target: all)")
    print(f"to_end_user_cross_process_delivered: {results['to_end_user_cross_process_delivered']} of "
          f"{results['to_end_user_cross_process_sent']}  (target: all)")
    for direction in ("to_agent", "to_end_user", "to_end_user_cross_process", "to_end_user_cross_process_post"):
        print(f"{direction}_p50_ms: {results[direction + '_p50_ms']:.1f}")
        p95 = results[direction + "_p95_ms"]
        verdict = "ok" if p95 < TARGET_P95_MS else "MISSED"
        print(f"{direction}_p95_ms: {p95:.1f}  (target: < {TARGET_P95_MS:.0f}) {verdict}")
    print(f"cross_process_poll_interval_ms: {results['cross_process_poll_interval_ms']:.0f}  "
          "(an agent console in another process is seen within this)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
