"""Article search latency on 10,000 articles: p95 of core.article_search on SQLite and, when possible, PostgreSQL.

Run: python bench/article_search.py [--articles N] [--searches N]. PostgreSQL is measured on
THREADLINE_BENCH_DATABASE_URL (an empty database: the bench creates the schema and fills it) or, without it, on a
private cluster started in a temporary folder when Debian's PostgreSQL binaries are installed; otherwise skipped.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, insert
from sqlmodel import select

from core import schema
from core.article_search import ArticleSearch
from core.db import Database
from core.models import Article

LANGUAGES = ["en", "de", "fr", "es", "ja"]
TOPICS = ["password", "invoice", "billing", "refund", "shipping", "delivery", "account", "login", "export",
          "subscription", "payment", "address", "order", "return", "warranty", "upgrade", "team", "security"]


def vocabulary(rng: random.Random, size: int = 4000) -> list[str]:
    """Made-up words with a realistic spread: a few common, most rare (searches hit both)."""
    letters = "abcdefghijklmnoprstuvwy"
    return [("".join(rng.choice(letters) for _ in range(rng.randint(4, 10)))) for _ in range(size)]


def article_rows(count: int, rng: random.Random) -> list[dict[str, object]]:
    words = vocabulary(rng)
    now = datetime.now(UTC)
    rows = []
    for number in range(count):
        topic = rng.choice(TOPICS)
        # Zipf-like choice: low indexes (common words) far more often than high ones.
        body_words = [words[min(len(words) - 1, int(rng.paretovariate(1.1)) * 7 % len(words))] if rng.random() < 0.5
                      else rng.choice(words) for _ in range(rng.randint(80, 400))]
        body_words[rng.randrange(len(body_words))] = topic
        title = f"{topic.capitalize()} {rng.choice(words)} {rng.choice(words)}"
        rows.append({"title": title, "slug": f"article-{number}", "body": " ".join(body_words),
                     "language": LANGUAGES[number % len(LANGUAGES)], "tags": [topic], "published": number % 10 != 0,
                     "created_at": now, "updated_at": now})
    return rows


def fill(db: Database, count: int, rng: random.Random) -> None:
    with db.session() as session:
        if session.exec(select(func.count()).select_from(Article)).one():
            raise SystemExit("the benchmark database already holds articles; give it an empty database")
        rows = article_rows(count, rng)
        for start in range(0, len(rows), 1000):
            session.execute(insert(Article), rows[start:start + 1000])
        session.commit()
    with db.engine.begin() as connection:
        connection.exec_driver_sql("ANALYZE")


def queries(count: int, rng: random.Random) -> list[tuple[str, str]]:
    words = vocabulary(random.Random(7))  # the same made-up words the articles use
    found = []
    for _ in range(count):
        parts = [rng.choice(TOPICS)] + [rng.choice(words[:200]) for _ in range(rng.randint(0, 3))]
        found.append((" ".join(parts), rng.choice(LANGUAGES)))
    return found


def p95_ms(db: Database, searches: list[tuple[str, str]]) -> tuple[float, float]:
    """The 95th percentile of wall time and of this process's CPU time per search, in milliseconds.

    On a shared machine the wall time includes waiting for a CPU; the CPU time shows the search's own cost.
    """
    timings, cpu = [], []
    with db.read_session() as session:
        search = ArticleSearch(session)
        for text, language in searches[:20]:  # warm the caches and the connection
            search.search(text, language, 3)
        for text, language in searches:
            started, cpu_started = time.perf_counter(), time.process_time()
            search.search(text, language, 3)
            timings.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - cpu_started) * 1000)
    return statistics.quantiles(timings, n=100)[94], statistics.quantiles(cpu, n=100)[94]


def measure(url: str, articles: int, searches: int) -> tuple[float, float]:
    db = Database(url)
    try:
        schema.upgrade(db.engine)
        # Same seed as queries() for the vocabulary, so searches use words the articles hold.
        fill(db, articles, random.Random(7))
        return p95_ms(db, queries(searches, random.Random(11)))
    finally:
        db.dispose()


@contextlib.contextmanager
def private_postgresql() -> Iterator[str | None]:
    """A throwaway PostgreSQL cluster on a free loopback port, or None when the binaries are missing."""
    binaries = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not binaries:
        yield None
        return
    bin_dir = binaries[-1].parent
    folder = Path(tempfile.mkdtemp(prefix="threadline-bench-pg-"))
    run_as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if run_as:
        shutil.chown(folder, "postgres", "postgres")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    data = folder / "data"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "check": True}
    try:
        subprocess.run([*run_as, str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres",
                        "--no-sync"], **quiet)  # type: ignore[call-overload]
        subprocess.run([*run_as, str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(folder / "pg.log"), "-o",
                        f"-c listen_addresses=127.0.0.1 -p {port} -k {folder} -c fsync=off", "-w", "start"],
                       **quiet)  # type: ignore[call-overload]
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*run_as, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        shutil.rmtree(folder, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--searches", type=int, default=500)
    args = parser.parse_args()
    print(f"load_average: {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as folder:
        report("sqlite", measure(f"sqlite:///{Path(folder) / 'bench.db'}", args.articles, args.searches))
    given = os.environ.get("THREADLINE_BENCH_DATABASE_URL", "")
    if given:
        report("postgresql", measure(given, args.articles, args.searches))
        return 0
    with private_postgresql() as url:
        if url is None:
            print("search_postgresql: skipped (no THREADLINE_BENCH_DATABASE_URL and no PostgreSQL binaries)")
        else:
            report("postgresql", measure(url, args.articles, args.searches))
    return 0


def report(database: str, measured: tuple[float, float]) -> None:
    wall, cpu = measured
    print(f"search_p95_ms_{database}: {wall:.2f} (target 20)")
    # The client's CPU time only (PostgreSQL's own work runs in the server process): information, no target.
    print(f"search_cpu_p95_ms_{database}: {cpu:.2f}")


if __name__ == "__main__":
    raise SystemExit(main())
