"""A big run says how far it is now and then, instead of a line per request."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from flows.campaign import (
    Campaign,
    compile_templates,
    fill_queue,
    work_lane,
)
from flows.webhooks import Hook
from tests.conftest import campaign_settings, run_campaign, run_logs
from tests.receiver import Receiver


def test_lanes_log_each_sent_step_at_debug_only(
    receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    settings = campaign_settings(email_webhook_url=receiver.url(), dry_run=False)
    templates = compile_templates(settings, ["email", "first_name"])
    leads = [{"email": f"lead{i}@example.com", "first_name": "Ana"} for i in range(200)]
    with httpx.Client() as client:
        campaign = Campaign(
            settings,
            templates,
            {"email": Hook("email", receiver.url(), {}, 10.0)},
            datetime.now(UTC),
            client=client,
        )
        with caplog.at_level(logging.DEBUG, logger="outreach"):
            work_lane(campaign, fill_queue(range(1, 201), leads))

    assert [r for r in caplog.records if r.levelno >= logging.INFO] == []
    debug = [r for r in caplog.records if r.levelno == logging.DEBUG]
    assert len(debug) == 200
    assert "lead0@example.com" not in caplog.text
    assert len(receiver.requests) == 200


def test_a_run_logs_how_far_it_is_instead_of_each_step(
    receiver: Receiver, tmp_path: Path
) -> None:
    path = tmp_path / "leads.csv"
    path.write_text(
        "email,first_name,company\n"
        + "".join(f"u{i}@example.com,U{i},C{i}\n" for i in range(30))
    )

    state = run_campaign(leads_csv_url=str(path), email_webhook_url=receiver.url())

    assert state.is_completed(), state.message
    logs = run_logs(state)
    progress = [line for line in logs if "lead(s) done" in line]
    assert progress[-1] == (
        "30 of 30 lead(s) done: 30 sent, 0 simulated, 0 skipped, 0 failed"
    )
    assert not any("sent (HTTP" in line for line in logs)
