"""Benchmark: how many widget WebSockets one `threadline serve` process holds on PostgreSQL, and what they cost.

Starts a private PostgreSQL cluster (unless THREADLINE_BENCH_DATABASE_URL is set) and one `threadline serve`
process, starts one conversation per connection over HTTP, opens the WebSockets (each says hello and waits for
`ready`), then reports:
  ws_connections:        sockets open at once on the one process
  rss_per_connection_kb: the serve process's resident memory growth from opening the sockets, per socket
  fanout_p95_ms:         an agent in another process (as a console) starts typing in 200 of those conversations,
                         then posts to each, 20 ms apart, and stops typing there (as the console does on send);
                         time from the message's commit to the conversation's socket having it (push path)
  typing_delivered:      sockets that were told the agent is typing (target: all 200)
  idle_queries_per_s:    transactions per second the database saw from the serve process while all sockets were
                         open and nobody did anything (pg_stat_database, over 30 s)
Usage: python bench/websocket_capacity.py [--connections 5000]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psycopg
from sqlmodel import select
from websockets.asyncio.client import connect

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._postgres import bench_database_url
from core import schema
from core.agents import AgentService
from core.clock import SystemClock
from core.db import Database
from core.models import Conversation
from core.settings import SettingsService
from threadline import event_loop

ROOT = Path(__file__).resolve().parent.parent
FANOUT_MESSAGES = 200
IDLE_WINDOW_SECONDS = 30.0
AGENT_PROCESS = """
import json, sys, time
from core.activity import ActivityService
from core.clock import SystemClock
from core.conversations import ConversationService
from core.db import Database
db = Database(sys.argv[1])
agent_id, sample, clock = int(sys.argv[2]), json.loads(sys.argv[3]), SystemClock()
for _public_id, conversation_id in sample:
    with db.session() as session:
        ActivityService(session, clock).agent_active(conversation_id, agent_id, typing=True)
time.sleep(1.0)
for public_id, conversation_id in sample:
    with db.session() as session:
        seq = ConversationService(session, clock).post_agent_message(conversation_id, agent_id, "fan-out").seq
        t0 = time.monotonic()
        ActivityService(session, clock).agent_active(conversation_id, agent_id, typing=False)
        print(json.dumps({"public_id": public_id, "seq": seq, "t0": t0}), flush=True)
    time.sleep(0.02)
"""


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def transactions(url: str) -> int:
    plain = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as connection:
        row = connection.execute("SELECT xact_commit + xact_rollback FROM pg_stat_database "
                                 "WHERE datname = current_database()").fetchone()
    return int(row[0]) if row else 0


def start_serve(folder: Path, url: str) -> tuple[subprocess.Popen[bytes], str]:
    config = folder / "threadline.toml"
    config.write_text("\n".join([
        "[general]", f'data_dir = "{folder}"', 'secret = "bench-secret-0123456789abcdef"', "",
        "[database]", f'url = "{url}"', "",
        "[widget]", 'public_url = "http://support.example.com"', "rate_limit_per_minute = 100000",
        "rate_limit_per_minute_per_address = 10000000", ""]))
    log = folder / "serve.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("THREADLINE_")}
    process = subprocess.Popen([sys.executable, "-m", "threadline", "--config", str(config), "serve", "--port", "0"],
                               cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace")
        if 'msg="web server listening" url=' in text:
            return process, text.split('msg="web server listening" url=', 1)[1].split()[0]
        if process.poll() is not None:
            raise SystemExit(f"serve stopped:\n{text}")
        time.sleep(0.1)
    raise SystemExit("serve did not start within 60 s")


async def run(connections: int, url: str) -> dict[str, float]:
    folder = Path(tempfile.mkdtemp(prefix="threadline-capacity-"))
    db = Database(url)
    schema.upgrade(db.engine)
    with db.session() as session:
        agent_id = AgentService(session, SystemClock()).add("bench", "Bench Agent").id
        # The bench's sockets send no heartbeats; without this their presence would expire during the idle window
        # and the scheduler's (real) work on it would be counted as idle queries.
        SettingsService(session, SystemClock()).update(presence_timeout_seconds=3600)
    serve, base = start_serve(folder, url)
    received: dict[tuple[str, int], float] = {}
    typing_seen: set[str] = set()
    try:
        limits = httpx.Limits(max_connections=16)
        async with httpx.AsyncClient(base_url=base, timeout=120, limits=limits) as http:
            async def start_one(_: int) -> dict:
                response = await http.post("/api/v1/conversations", json={})
                response.raise_for_status()
                return dict(response.json())

            started: list[dict] = []
            for first in range(0, connections, 200):
                started += await asyncio.gather(*(start_one(n) for n in range(first, min(connections, first + 200))))
        await asyncio.sleep(2.0)
        rss_before = rss_kb(serve.pid)

        ready = asyncio.Semaphore(0)
        hold = asyncio.Event()
        opening = asyncio.Semaphore(64)  # handshakes in flight at once, like many browsers arriving over a minute

        async def client(data: dict) -> None:
            public_id = data["conversation"]["id"]
            async with opening:
                # No keepalive pings from the client: browsers send none (they only answer the server's).
                ws = await connect(base.replace("http://", "ws://") + f"/api/v1/conversations/{public_id}/live",
                                   open_timeout=120, max_queue=None, ping_interval=None)
                await ws.send(json.dumps({"type": "hello", "token": data["token"], "after": 0}))
                while json.loads(await asyncio.wait_for(ws.recv(), 120))["type"] != "ready":
                    pass
            ready.release()
            try:
                async for raw in ws:
                    frame = json.loads(raw)
                    if frame["type"] == "message" and frame["message"]["author"] == "agent":
                        received[(public_id, frame["message"]["seq"])] = time.monotonic()
                    elif frame["type"] == "typing" and frame["typing"]:
                        typing_seen.add(public_id)
                    if hold.is_set():
                        break
            finally:
                await ws.close()

        tasks = [asyncio.create_task(client(data)) for data in started]
        for _ in started:
            await asyncio.wait_for(ready.acquire(), 300)
        await asyncio.sleep(3.0)
        rss_after = rss_kb(serve.pid)

        # Idle: every socket open, nobody writes. Stats reach pg_stat_database within about a second of each
        # transaction (10 s for an idle backend's last ones), so the window is long and starts after a pause.
        await asyncio.sleep(11.0)
        before = transactions(url)
        await asyncio.sleep(IDLE_WINDOW_SECONDS)
        after = transactions(url)
        idle_per_s = max(0, after - before - 1) / IDLE_WINDOW_SECONDS  # -1: the first reading's own transaction

        with db.read_session() as session:
            ids = {c.public_id: c.id for c in session.exec(select(Conversation))}
        sample = [[data["conversation"]["id"], ids[data["conversation"]["id"]]] for data in started[:FANOUT_MESSAGES]]
        agent = await asyncio.create_subprocess_exec(
            sys.executable, "-c", AGENT_PROCESS, url, str(agent_id), json.dumps(sample),
            stdout=asyncio.subprocess.PIPE, cwd=str(ROOT))
        output, _ = await agent.communicate()
        sent = {(item["public_id"], item["seq"]): item["t0"] for item in map(json.loads, output.decode().splitlines())}
        deadline = time.monotonic() + 20
        while sum(key in received for key in sent) < len(sent) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        fanout = [(received[key] - t0) * 1000 for key, t0 in sent.items() if key in received]
        hold.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        serve.terminate()
        serve.wait(30)
        db.dispose()
    return {"ws_connections": connections, "rss_per_connection_kb": (rss_after - rss_before) / connections,
            "fanout_p50_ms": statistics.median(fanout), "fanout_p95_ms": percentile(fanout, 0.95),
            "fanout_delivered": len(fanout), "fanout_sent": len(sent), "idle_queries_per_s": idle_per_s,
            "typing_delivered": len(typing_seen)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=5000, help="WebSockets to hold (the issue's figure: 5000)")
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = min(hard, max(soft, args.connections * 2 + 512))  # each socket is a descriptor here and in serve
    resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    with bench_database_url() as url:
        # The bench's 5,000 client sockets run on the fast loop too, so the client is not what is measured.
        results = event_loop.run(run(args.connections, url))
    print(f"ws_connections: {results['ws_connections']}  (target >= 5000)")
    print(f"rss_per_connection_kb: {results['rss_per_connection_kb']:.1f}  (target < 50)")
    print(f"fanout_delivered: {results['fanout_delivered']} of {results['fanout_sent']}  (target: all)")
    print(f"typing_delivered: {results['typing_delivered']} of {results['fanout_sent']}  (target: all)")
    print(f"fanout_p50_ms: {results['fanout_p50_ms']:.1f}")
    print(f"fanout_p95_ms: {results['fanout_p95_ms']:.1f}  (target < 100)")
    print(f"idle_queries_per_s: {results['idle_queries_per_s']:.2f}  (target < 1)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
