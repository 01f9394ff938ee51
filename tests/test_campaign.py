from __future__ import annotations

from datetime import UTC, datetime

import pytest

from flows.campaign import (
    FAILED,
    Campaign,
    compile_templates,
    fill_queue,
    linkedin_profile,
    summarize,
    work_lane,
)
from tests.conftest import campaign_settings

SETTINGS = campaign_settings()


def test_a_lead_that_breaks_costs_that_lead_only() -> None:
    templates = compile_templates(SETTINGS, ["email", "first_name"])
    campaign = Campaign(SETTINGS, templates, {"email": None}, datetime.now(UTC))
    # The second lead has no email key at all: run_lead cannot mask it.
    leads = [
        {"email": "ana@example.com", "first_name": "Ana"},
        {"first_name": "Bo"},
        {"email": "cy@example.com", "first_name": "Cy"},
    ]

    outcomes = work_lane(campaign, fill_queue([1, 2, 3], leads))

    assert [(o.row, o.outcome) for o in outcomes] == [
        (1, "simulated"),
        (2, FAILED),
        (3, "simulated"),
    ]
    assert outcomes[1].reason == "internal error (KeyError)"
    assert summarize(outcomes).failed == 1


def test_later_steps_never_fire_before_the_first_email() -> None:
    settings = campaign_settings(
        business_hours_start_utc=20,
        business_hours_end_utc=22,
        linkedin_delay_days=0,
        followup_delay_days=0,
    )
    now = datetime(2026, 12, 4, 16, 50, 44, tzinfo=UTC)
    campaign = Campaign(settings, {}, {}, now)

    assert campaign.run_at("email_1") == "2026-12-04T20:00:00Z"
    assert campaign.run_at("linkedin") == "2026-12-04T20:00:00Z"
    assert campaign.run_at("email_2") == "2026-12-04T20:00:00Z"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://www.linkedin.com/in/ana", "https://www.linkedin.com/in/ana"),
        ("linkedin.com/in/ana", "https://linkedin.com/in/ana"),
        ("-", ""),
        ("not provided", ""),
        ("javascript:alert(1)", ""),
    ],
)
def test_linkedin_url_must_be_a_web_address(value: str, expected: str) -> None:
    assert linkedin_profile(value) == expected


def test_line_breaks_never_reach_a_subject() -> None:
    settings = campaign_settings(
        email_subject_template="{{first_name}}, idea para {{company}}"
    )
    templates = compile_templates(settings, ["email", "first_name", "company"])
    campaign = Campaign(settings, templates, {"email": None}, datetime.now(UTC))
    lead = {
        "email": "ana@example.com",
        "first_name": "Ana",
        "company": "Acme\r\nBcc: x@evil.example",
    }

    (outcome,) = work_lane(campaign, fill_queue([1], [lead]))

    assert outcome.preview.startswith("Ana, idea para Acme Bcc: x@evil.example |")
