"""Kill a campaign with SIGKILL mid-run, run it again: every step once at most."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from prefect.settings import PREFECT_API_URL

from flows.campaign import ALREADY_SENT, SENT, UNCONFIRMED
from tests.conftest import CASE_DEFAULTS, ROOT, run_campaign
from tests.receiver import Receiver

LEADS = 12
LANES = 3
KILL_AFTER_REQUESTS = 4


def _write_leads(path: Path) -> None:
    rows = ["email,first_name,company"]
    rows += [f"lead{n}@example.com,Lead{n},Company{n}" for n in range(LEADS)]
    path.write_text("\n".join(rows) + "\n")


def _wait_for(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def test_killed_run_rerun_sends_the_rest_and_nothing_twice(
    tmp_path: Path, ledger_dir: Path
) -> None:
    receiver = Receiver(latency=0.5)
    try:
        leads = tmp_path / "leads.csv"
        _write_leads(leads)
        parameters = {
            **CASE_DEFAULTS,
            "leads_csv_url": str(leads),
            "email_webhook_url": receiver.url(),
            "max_parallel_leads": LANES,
        }
        parameter_file = tmp_path / "parameters.json"
        parameter_file.write_text(json.dumps(parameters))
        env = {
            **os.environ,
            "PREFECT_API_URL": PREFECT_API_URL.value(),
            "OUTREACH_LEDGER_DIR": str(ledger_dir),
        }
        with open(tmp_path / "first-run.log", "wb") as log:
            process = subprocess.Popen(
                [sys.executable, "flows/outreach_multichannel.py", str(parameter_file)],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            try:
                arrived = _wait_for(
                    lambda: len(receiver.requests) >= KILL_AFTER_REQUESTS, 90
                )
                in_flight_at_kill = receiver.in_flight
                process.kill()
                process.wait(timeout=30)
            finally:
                if process.poll() is None:
                    process.kill()
                    process.wait(timeout=30)
        assert arrived, (tmp_path / "first-run.log").read_text()[-2000:]
        assert process.returncode == -9
        assert _wait_for(lambda: receiver.in_flight == 0, 10)
        first_run = len(receiver.requests)
        assert first_run < LEADS

        second = run_campaign(**parameters)

        summary = second.result(raise_on_failure=False)
        counts = summary.by_step["email_1"]
        unconfirmed = summary.failed_by_reason[UNCONFIRMED]
        already_sent = summary.skipped_by_reason[ALREADY_SENT]
        keys = [request.key for request in receiver.requests]
        assert len(keys) == len(set(keys)), "a step was posted twice"
        assert counts[SENT] == len(receiver.requests) - first_run
        assert counts[SENT] + unconfirmed + already_sent == LEADS
        assert in_flight_at_kill <= unconfirmed <= LANES
        assert already_sent + unconfirmed >= first_run
        assert len(set(keys)) >= LEADS - unconfirmed
        assert second.is_failed() == (unconfirmed > 0)
    finally:
        receiver.close()
