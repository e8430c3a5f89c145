"""A PostgreSQL database for benches: THREADLINE_BENCH_DATABASE_URL, else a private cluster (as tests/run starts)."""
from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg

BENCH_URL_VARIABLE = "THREADLINE_BENCH_DATABASE_URL"
# The private cluster's postmaster, once started (None with THREADLINE_BENCH_DATABASE_URL): benches count its CPU.
postmaster_pid: int | None = None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _as_postgres(args: list[str]) -> list[str]:
    # initdb refuses to run as root; Debian's clusters belong to the postgres user.
    return ["runuser", "-u", "postgres", "--", *args] if os.getuid() == 0 else args


@contextlib.contextmanager
def bench_database_url(max_connections: int = 300) -> Iterator[str]:
    """A SQLAlchemy URL of an empty PostgreSQL database, removed (cluster and all) afterwards when we made it."""
    given = os.environ.get(BENCH_URL_VARIABLE)
    if given:
        yield given
        return
    initdb = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not initdb:
        raise SystemExit(f"no PostgreSQL found: apt-get install postgresql, or set {BENCH_URL_VARIABLE}")
    bin_dir = Path(initdb[-1]).parent
    folder = Path(tempfile.mkdtemp(prefix="threadline-bench-pg-"))
    if os.getuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    port = _free_port()
    data = folder / "data"
    subprocess.run(_as_postgres([str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres",
                                 "--no-sync"]), check=True, capture_output=True)
    options = (f"-c listen_addresses=127.0.0.1 -p {port} -k {folder} -c fsync=off "
               f"-c max_connections={max_connections}")
    subprocess.run(_as_postgres([str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(folder / "pg.log"), "-o",
                                 options, "-w", "start"]), check=True, capture_output=True)
    global postmaster_pid
    postmaster_pid = int((data / "postmaster.pid").read_text().split()[0])
    try:
        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{port}/postgres", autocommit=True) as connection:
            connection.execute("CREATE DATABASE threadline_bench")
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/threadline_bench"
    finally:
        subprocess.run(_as_postgres([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]),
                       capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)
        postmaster_pid = None
