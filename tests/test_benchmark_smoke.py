"""The benchmark script still runs end to end: 50 leads, the real flow, a table.

This checks the table's shape and the numbers that must hold at any speed (every
request arrived, never more than P in flight); it times nothing.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

SCRIPT = ROOT / "benchmarks" / "bench_campaign.py"
PARALLEL = 16


def test_benchmark_on_50_leads_writes_a_table_within_the_pool_limit(
    tmp_path: Path,
) -> None:
    out, data = tmp_path / "results.md", tmp_path / "results.json"

    done = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--sizes=50",
            "--latencies-ms=0",
            "--load-size=50",
            "--two-runs=0",
            "--server=embedded",
            f"--parallel={PARALLEL}",
            f"--out={out}",
            f"--json={data}",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=400,
    )

    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    results = json.loads(data.read_text())
    [row] = results["flows"]
    assert row["state"] == "Completed"
    assert row["requests"] == row["expected_requests"] == 50 * 3
    assert 1 <= row["max_in_flight"] <= PARALLEL
    assert row["floor_requests"] == 50 * 3
    assert 1 <= row["floor_max_in_flight"] <= PARALLEL
    assert row["bound_seconds"] == 0 and row["efficiency"] is None
    assert row["run_seconds"] > 0 and row["peak_mb"] > 0
    assert results["load"]["kept"] + results["load"]["dropped"] == 50
    table = out.read_text()
    assert "Machine: " in table
    assert "| 50 | 0 ms | 150 |" in table
    assert "| target | measured | met |" in table
