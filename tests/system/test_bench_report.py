"""bench/report.py reads each script's `name: value (target ...)` lines and judges them."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

spec = importlib.util.spec_from_file_location(
    "bench_report", Path(__file__).resolve().parents[2] / "bench" / "report.py"
)
report = importlib.util.module_from_spec(spec)
sys.modules["bench_report"] = report  # dataclasses look their module up while the file runs
spec.loader.exec_module(report)  # type: ignore[union-attr]


def test_targets_in_the_formats_the_scripts_print_are_judged() -> None:
    output = "\n".join([
        "emails_per_s: 962 (target >= 400)",
        "open_ms: 620  (target < 500)",
        "to_agent_p95_ms: 6.0  (target: < 50) ok",
        "to_agent_delivered: 199 of 200  (target: all)",
        "raw_per_s: 614 (reference: bare loop)",
        "not a figure line",
    ])
    figures = {f.name: f for f in report.parse("x.py", output)}
    assert [figures[n].verdict for n in ("emails_per_s", "open_ms", "to_agent_p95_ms", "to_agent_delivered",
                                          "raw_per_s")] == ["pass", "FAIL", "pass", "FAIL", "info"]
    assert figures["open_ms"].target == "< 500" and figures["to_agent_delivered"].value == "199 of 200"
    assert len(figures) == 5


def test_table_lines_up_columns() -> None:
    table = report.table([report.Figure("a.py", "x", "1", "< 2", "pass")]).splitlines()
    assert table[0].split() == ["script", "figure", "value", "target", "result"]
    assert table[2].split() == ["a.py", "x", "1", "<", "2", "pass"]
