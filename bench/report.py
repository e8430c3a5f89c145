"""Runs every bench/*.py script and prints one table: script, figure, value, target, pass/fail.

Run: python bench/report.py [--timeout SECONDS] [script ...]. Each script prints `name: value` lines, with its target
in parentheses beside a figure: `(target < 50)`, `(target >= 400)`, `(target: < 50)` or `(target: all)` for
`N of M` figures. Figures without a target are listed as information. Exits 1 when a figure misses its target or a
script fails.
"""
from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
_LINE = re.compile(r"^(?P<name>[A-Za-z][\w.-]*):\s+(?P<value>\S+(?:\s+of\s+\S+)?)(?P<rest>.*)$")
_TARGET = re.compile(r"target:?\s*(?P<op><=|>=|<|>|=|==)?\s*(?P<number>-?[\d.]+|all)", re.I)


@dataclass
class Figure:
    script: str
    name: str
    value: str
    target: str
    verdict: str  # pass | FAIL | info


def judge(value: str, op: str | None, number: str) -> bool | None:
    """Whether value meets the target; None when it cannot be read as one."""
    if number.lower() == "all":
        found = re.match(r"^(\d+)\s+of\s+(\d+)$", value)
        return None if not found else found.group(1) == found.group(2)
    try:
        measured, wanted = float(value), float(number)
    except ValueError:
        return None
    return {"<": measured < wanted, "<=": measured <= wanted, ">": measured > wanted, ">=": measured >= wanted,
            "=": measured == wanted, "==": measured == wanted, None: measured <= wanted}[op]


def parse(script: str, output: str) -> list[Figure]:
    figures = []
    for line in output.splitlines():
        found = _LINE.match(line.strip())
        if not found:
            continue
        name, value, rest = found.group("name"), found.group("value"), found.group("rest")
        target = _TARGET.search(rest)
        if target is None:
            figures.append(Figure(script, name, value, "", "info"))
            continue
        op, number = target.group("op"), target.group("number")
        met = judge(value, op, number)
        shown = "all" if number.lower() == "all" else f"{op or '<='} {number}"
        figures.append(Figure(script, name, value, shown, "info" if met is None else ("pass" if met else "FAIL")))
    return figures


def run_script(path: Path, timeout: float) -> tuple[list[Figure], float]:
    started = time.monotonic()
    try:
        done = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=timeout,
                              cwd=BENCH_DIR.parent)
    except subprocess.TimeoutExpired:
        return [Figure(path.name, "(script)", "timed out", f"< {timeout:g} s", "FAIL")], time.monotonic() - started
    figures = parse(path.name, done.stdout)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1][:80]
        figures.append(Figure(path.name, "(script)", f"exit {done.returncode}: {last}", "exit 0", "FAIL"))
    return figures, time.monotonic() - started


def table(figures: list[Figure]) -> str:
    rows = [("script", "figure", "value", "target", "result")]
    rows += [(f.script, f.name, f.value, f.target or "-", f.verdict) for f in figures]
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("scripts", nargs="*", help="bench scripts to run (default: every bench/*.py but this one)")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds each script may take")
    args = parser.parse_args()
    paths = [Path(s) for s in args.scripts] or sorted(
        p for p in BENCH_DIR.glob("*.py") if p.name != Path(__file__).name and not p.name.startswith("_"))
    figures: list[Figure] = []
    for path in paths:
        print(f"running {path.name} ...", file=sys.stderr, flush=True)
        found, seconds = run_script(path, args.timeout)
        print(f"  {path.name}: {len(found)} figure(s) in {seconds:.0f} s", file=sys.stderr, flush=True)
        figures += found
    print(table(figures))
    failed = [f for f in figures if f.verdict == "FAIL"]
    print(f"\n{sum(f.verdict == 'pass' for f in figures)} passed, {len(failed)} failed, "
          f"{sum(f.verdict == 'info' for f in figures)} without a target")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
