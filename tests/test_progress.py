"""A big run says how far it is now and then, instead of a line per request."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import httpx
import pytest

from flows.campaign import (
    Campaign,
    CampaignSettings,
    ProgressLine,
    StepOutcome,
    compile_templates,
    fill_queue,
    work_lane,
)
from flows.webhooks import Hook
from tests.receiver import Receiver

SETTINGS = CampaignSettings(
    leads_csv_url="leads.csv",
    email_from="growth@example.com",
    email_subject_template="{{first_name}}",
    email_body_template="Hola {{first_name}}",
    email_webhook_url="http://127.0.0.1:9/unused",
    enable_linkedin=False,
    enable_followup=False,
)


def _sent(row: int) -> list[StepOutcome]:
    return [StepOutcome(row, "a***@example.com", "Acme", "email_1", "sent")]


def test_progress_is_due_every_tenth_of_the_leads() -> None:
    progress = ProgressLine(total=2000)

    due = [progress.add(_sent(row)) for row in range(1, 2001)]

    reported = [item for item in due if item is not None]
    assert [done for done, _ in reported] == list(range(200, 2001, 200))
    assert reported[-1][1]["sent"] == 2000


def test_progress_on_a_small_run_is_due_every_hundred_leads() -> None:
    progress = ProgressLine(total=250)

    due = [progress.add(_sent(row)) for row in range(1, 251)]

    assert [item[0] for item in due if item is not None] == [100, 200]


def test_lanes_log_progress_at_info_and_each_sent_step_at_debug(
    receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    settings = CampaignSettings(
        **{**SETTINGS.__dict__, "email_webhook_url": receiver.url()}
    )
    templates = compile_templates(settings, ["email", "first_name"])
    leads = [{"email": f"lead{i}@example.com", "first_name": "Ana"} for i in range(200)]
    with httpx.Client() as client:
        campaign = Campaign(
            settings,
            templates,
            {"email": Hook("email", receiver.url(), {}, 10.0)},
            datetime.now(UTC),
            client=client,
            progress=ProgressLine(len(leads)),
        )
        with caplog.at_level(logging.DEBUG, logger="outreach"):
            work_lane(campaign, fill_queue(range(1, 201), leads))

    info = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert info == [
        "100 of 200 lead(s) done: 100 step(s) sent, 0 simulated, 0 skipped, 0 failed",
        "200 of 200 lead(s) done: 200 step(s) sent, 0 simulated, 0 skipped, 0 failed",
    ]
    debug = [r for r in caplog.records if r.levelno == logging.DEBUG]
    assert len(debug) == 200
    assert "lead0@example.com" not in caplog.text
    assert len(receiver.requests) == 200
